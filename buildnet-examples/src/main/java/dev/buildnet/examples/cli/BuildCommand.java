package dev.buildnet.examples.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "build", mixinStandardHelpOptions = true,
    description = "Builds the named targets and their dependencies (default: every target).")
final class BuildCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Mixin WorkspaceOptions ws;

  @Parameters(arity = "0..*", paramLabel = "TARGET", description = "Targets to build.")
  List<String> targets = List.of();

  @Option(names = {"-k", "--keep-going"}, description = "Go on with independent targets after a failure.")
  boolean keepGoing;

  @Option(names = "--logs", description = "Print every target's output lines.")
  boolean logs;

  @Option(names = "--no-wait", description = "Fail at once (exit code 2) instead of waiting"
      + " while another build of the workspace runs.")
  boolean noWait;

  @Override
  public Integer call() {
    ConsoleReporter reporter = new ConsoleReporter(out(), Terminal.isLive(), logs);
    BuildNet.Builder b = BuildNet.builder().workspace(ws.workspace).listener(reporter)
        .waitForWorkspaceLock(!noWait)
        .onWorkspaceLockWait(message -> {
          out().println(message);
          out().flush();
        });
    if (ws.slots > 0) {
      b.localSlots(ws.slots);
    }
    try (BuildNet net = b.start()) {
      List<String> names = targets.isEmpty()
          ? net.graph().topologicalOrder().stream().map(t -> t.name()).toList()
          : targets;
      dev.buildnet.BuildFuture build = net.build(names, keepGoing);
      try (CancelOnShutdown onSignal = CancelOnShutdown.arm(build, out())) {
        // result(), not join(): a cancelled build still has a (partial) result.
        BuildResult r = build.result().join();
        if (onSignal.commandPrints()) {
          ConsoleReporter.summary(out(), r);
        }
        return r.success() ? 0 : 1;
      }
    }
  }
}
