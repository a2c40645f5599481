package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.GcReport;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code buildnet clean}: deletes the targets' declared outputs, the local cache, or both. Only
 * what BuildNet itself declared or stores is deleted; other files of the workspace are untouched.
 */
@Command(name = "clean", mixinStandardHelpOptions = true,
    description = "Deletes the targets' outputs (default), the local cache (--cache), or both"
        + " (--all).")
final class CleanCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkspaceOptions ws;

  @picocli.CommandLine.ArgGroup(exclusive = true)
  What what = new What();

  static final class What {
    @Option(names = "--outputs", description = "Delete the targets' declared outputs (default).")
    boolean outputs;

    @Option(names = "--cache", description = "Empty the local cache (blobs and cache records)"
        + " and keep the outputs.")
    boolean cache;

    @Option(names = "--all", description = "Delete the outputs and empty the cache.")
    boolean all;
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    boolean outputs = what.all || what.outputs || !what.cache;
    boolean cache = what.all || what.cache;
    // A cap of 0 makes gc evict every blob and drop every record that named one.
    BuildNet.Builder b = BuildNet.builder().workspace(ws.workspace)
        .onWorkspaceLockWait(WorkspaceOptions.lockNotice(spec.commandLine().getErr()));
    if (cache) {
      b.cacheMaxBytes(0);
    }
    boolean cacheChanged = false;
    try (BuildNet net = b.start()) {
      if (outputs) {
        int n = net.cleanOutputs();
        out.printf("deleted %d output path%s%n", n, n == 1 ? "" : "s");
      }
      if (cache) {
        GcReport r = net.gc();
        out.printf("emptied the cache: %d blob%s (%s) and %d cache entr%s removed%n",
            r.blobsRemoved(), r.blobsRemoved() == 1 ? "" : "s", ByteSize.format(r.bytesFreed()),
            r.entriesRemoved(), r.entriesRemoved() == 1 ? "y" : "ies");
        cacheChanged = r.blobsRemoved() > 0 || r.entriesRemoved() > 0;
      }
    }
    out.flush();
    if (cacheChanged) {
      DaemonCommand.cacheChanged(ws.workspace, spec.commandLine().getErr());
    }
    return 0;
  }
}
