package dev.buildnet.examples.cli;

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

  @Option(names = "--max-bytes", defaultValue = "10737418240",
      description = "The cache size cap in bytes (default: 10 GiB).")
  long maxBytes;

  @Override
  public Integer call() {
    try (BuildNet net =
        BuildNet.builder().workspace(ws.workspace).cacheMaxBytes(maxBytes).start()) {
      GcReport r = net.gc();
      out().printf(
          "removed %d blobs (%d bytes) and %d dangling cache entries; %d bytes remain%n",
          r.blobsRemoved(), r.bytesFreed(), r.entriesRemoved(), r.bytesRemaining());
      return 0;
    }
  }
}
