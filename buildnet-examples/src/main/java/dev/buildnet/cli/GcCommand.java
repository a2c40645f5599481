package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.GcReport;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "gc", mixinStandardHelpOptions = true,
    description = "Evicts least-recently-used cache blobs above the size cap.")
final class GcCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Mixin WorkspaceOptions ws;

  @Option(names = "--max-bytes", defaultValue = "10G", converter = ByteSize.class,
      paramLabel = "SIZE",
      description = "The cache size cap: bytes, or with a unit: 500M, 10G (default: 10G;"
          + " K, M, G, T are powers of 1024).")
  long maxBytes;

  @Override
  public Integer call() {
    GcReport r;
    try (BuildNet net =
        BuildNet.builder().workspace(ws.workspace).cacheMaxBytes(maxBytes).start()) {
      r = net.gc();
      out().printf(
          "removed %d blobs (%s) and %d dangling cache entries; %s remain%n",
          r.blobsRemoved(), ByteSize.format(r.bytesFreed()), r.entriesRemoved(),
          ByteSize.format(r.bytesRemaining()));
    }
    out().flush();
    if (r.blobsRemoved() > 0 || r.entriesRemoved() > 0) {
      DaemonCommand.cacheChanged(ws.workspace, spec.commandLine().getErr());
    }
    return 0;
  }
}
