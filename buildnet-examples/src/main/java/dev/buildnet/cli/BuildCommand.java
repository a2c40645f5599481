package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.PlannedTarget;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.BuildGraph;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "build", mixinStandardHelpOptions = true,
    description = "Builds the named targets and their dependencies (default: every target).")
final class BuildCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  private PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Mixin WorkspaceOptions ws;

  /** A new BuildNet per run here; the daemon's warm one when the daemon runs this command. */
  BuildSession session = BuildSession.IN_PROCESS;

  @Parameters(arity = "0..*", paramLabel = "TARGET", description = "Targets to build.")
  List<String> targets = List.of();

  @Option(names = {"-k", "--keep-going"}, description = "Go on with independent targets after a failure.")
  boolean keepGoing;

  @Option(names = "--logs", description = "Print every target's output lines.")
  boolean logs;

  @Option(names = "--no-wait", description = "Fail at once (exit code 2) instead of waiting"
      + " while another build of the workspace runs.")
  boolean noWait;

  @ArgGroup(exclusive = true)
  Level level = new Level();

  static final class Level {
    @Option(names = {"-v", "--verbose"},
        description = "Print a row for every target, cached ones included.")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, description = "Print only errors.")
    boolean quiet;
  }

  @Option(names = "--watch", description = "Build, then rebuild what each change to the targets'"
      + " inputs affects, until Ctrl-C; one summary line per cycle.")
  boolean watch;

  @Option(names = "--dry-run", description = "Print what would run and why; run nothing.")
  boolean dryRun;

  /** The formats of --graph. */
  enum GraphFormat { dot, json }

  @Option(names = "--graph", arity = "0..1", fallbackValue = "dot", paramLabel = "FORMAT",
      description = "Print the selected targets' graph as dot (default) or json; build nothing.")
  GraphFormat graph;

  @Option(names = "--json", description = "Print one JSON document on standard output (the"
      + " result, or with --dry-run the plan); progress and errors go to standard error.")
  boolean json;

  @Option(names = {"-f", "--force"},
      description = "Run the selected targets and their dependencies even if cached.")
  boolean force;

  @Option(names = "--no-cache", description = "Like --force, and write nothing to the cache"
      + " either.")
  boolean noCache;

  @Option(names = "--filter", paramLabel = "FILTER", description = "Only targets whose name"
      + " matches this glob (lib*), or [REF]: targets affected by the files changed since the git"
      + " revision REF, and their dependents. Repeatable: a target matching any is kept.")
  List<String> filters = List.of();

  @Override
  public Integer call() throws Exception {
    // The live line is drawn for a terminal on standard output, which --json does not write to.
    boolean live = session.live() && !json;
    ConsoleReporter.Verbosity verbosity = level.quiet ? ConsoleReporter.Verbosity.QUIET
        : level.verbose ? ConsoleReporter.Verbosity.VERBOSE : ConsoleReporter.Verbosity.NORMAL;
    // With --json, standard output carries the document alone; the rows, the summary, --logs
    // and the errors go to standard error (docs/CLI.md), so a CI log still shows what ran.
    PrintWriter human = json ? spec.commandLine().getErr() : out();
    ConsoleReporter reporter = new ConsoleReporter(human, live, logs, verbosity);
    BuildSession.Settings settings = new BuildSession.Settings(session.resolve(ws.workspace),
        ws.slots, !noWait, reporter, WorkspaceOptions.lockNotice(human));
    try (BuildSession.Lease lease = session.open(settings)) {
      BuildNet net = lease.net();
      List<String> names = targets.isEmpty()
          ? net.graph().topologicalOrder().stream().map(t -> t.name()).toList()
          : targets;
      if (!filters.isEmpty()) {
        names = TargetFilter.apply(net.graph(), names, filters, net.workspace());
      }
      // "Build all of them" of a workspace that declares none builds nothing, successfully, as a
      // filter that keeps nothing does (the engine itself refuses an empty request).
      if (names.isEmpty()) {
        if (json && graph == null && !dryRun) {
          out().println(JsonOutput.result(new BuildResult(true, "none", java.time.Duration.ZERO,
              List.of(), List.of(), List.of(), dev.buildnet.api.build.BuildMetrics.EMPTY,
              List.of())));
        } else if (verbosity != ConsoleReporter.Verbosity.QUIET) {
          human.println(filters.isEmpty() ? "nothing to build: the workspace declares no targets"
              : "no target matches --filter " + String.join(" ", filters));
        }
        human.flush();
        out().flush();
        return 0;
      }
      if (graph != null) {
        BuildGraph sub = net.graph().subgraphFor(names);
        out().print(graph == GraphFormat.json ? JsonOutput.graph(sub) + "\n" : JsonOutput.dot(sub));
        out().flush();
        return 0;
      }
      if (dryRun) {
        return dryRun(net.plan(names));
      }
      if (watch) {
        return WatchLoop.run(net, names, human);
      }
      if (force || noCache) {
        // The engine forces the targets it is given: name the whole closure, as Turborepo's
        // --force and Gradle's --rerun-tasks rerun dependencies too.
        names = new ArrayList<>(net.graph().subgraphFor(names).topologicalOrder().stream()
            .map(t -> t.name()).toList());
      }
      dev.buildnet.BuildFuture build = net.build(names, keepGoing, noCache ? BuildNet.CacheUse.OFF
          : force ? BuildNet.CacheUse.WRITE_ONLY : BuildNet.CacheUse.READ_WRITE);
      lease.running(build);
      BuildResult r;
      try (CancelOnShutdown onSignal = CancelOnShutdown.arm(build, human)) {
        // result(), not join(): a cancelled build still has a (partial) result.
        r = build.result().join();
        if (!onSignal.commandPrints()) {
          return 1; // the hook prints the cancelled summary; the JVM exits 130 or 143
        }
      }
      ConsoleReporter.summary(human, r, verbosity);
      if (json) {
        out().println(JsonOutput.result(r));
        out().flush();
      }
      return r.success() ? 0 : 1;
    }
  }

  private int dryRun(List<PlannedTarget> plan) {
    PrintWriter out = out();
    if (json) {
      out.println(JsonOutput.plan(plan, force || noCache));
      out.flush();
      return 0;
    }
    int width = ConsoleReporter.nameColumn(plan.stream().map(PlannedTarget::target).toList());
    long run = 0;
    for (PlannedTarget p : plan) {
      if (p.wouldRun()) {
        run++;
        boolean forced = force || noCache;
        out.printf("  %-8s %-" + width + "s %s%n", "run", p.target(),
            forced ? "--force" : p.reasons().isEmpty() ? "" : p.reasons().get(0));
        for (int i = 1; !forced && i < p.reasons().size(); i++) {
          out.printf("  %-8s %-" + width + "s %s%n", "", "", p.reasons().get(i));
        }
      } else if (force || noCache) {
        run++;
        out.printf("  %-8s %-" + width + "s %s%n", "run", p.target(), "--force");
      } else if (level.verbose) {
        out.printf("  %-8s %-" + width + "s %s%n", "cached", p.target(), p.key());
      }
    }
    out.printf("dry run: %d of %d target%s would run, %d would come from the cache;"
        + " nothing was run%n", run, plan.size(), plan.size() == 1 ? "" : "s", plan.size() - run);
    out.flush();
    return 0;
  }
}
