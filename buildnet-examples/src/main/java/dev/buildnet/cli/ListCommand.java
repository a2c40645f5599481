package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code buildnet list}: the workspace's targets, in dependency order. */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = "Lists the workspace's targets in dependency order, with their dependencies.")
final class ListCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkspaceOptions ws;

  @Option(names = "--json", description = "Print the targets as one JSON document.")
  boolean json;

  @Option(names = "--filter", paramLabel = "FILTER",
      description = "Only targets matching this name glob or [REF] (see 'build --filter').")
  List<String> filters = List.of();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (BuildNet net = BuildNet.builder().workspace(ws.workspace).start()) {
      BuildGraph graph = net.graph();
      List<String> names = new ArrayList<>();
      graph.topologicalOrder().forEach(t -> names.add(t.name()));
      if (!filters.isEmpty()) {
        List<String> kept = TargetFilter.apply(graph, names, filters, net.workspace());
        graph = kept.isEmpty() ? null : graph.subgraphFor(kept);
        names.retainAll(kept);
      }
      if (json) {
        out.println(graph == null ? "{\"schema\": \"buildnet.graph/1\", \"targets\": []}"
            : JsonOutput.graph(graph));
      } else if (graph != null) {
        int width = ConsoleReporter.nameColumn(names);
        for (String n : names) {
          Target t = graph.get(n);
          String deps = t.dependencies().isEmpty() ? ""
              : "<- " + String.join(", ", t.dependencies());
          out.println(String.format(java.util.Locale.ROOT, "%-" + width + "s %s", n, deps)
              .stripTrailing());
        }
      }
      out.flush();
      return 0;
    }
  }
}
