package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "explain", mixinStandardHelpOptions = true,
    description = "Says why the last build of a target was (or was not) served from the cache.")
final class ExplainCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Mixin WorkspaceOptions ws;

  @Parameters(index = "0", paramLabel = "TARGET")
  String target;

  @Override
  public Integer call() {
    try (BuildNet net = BuildNet.builder().workspace(ws.workspace).start()) {
      out().println(net.explain(target));
      return 0;
    }
  }
}
