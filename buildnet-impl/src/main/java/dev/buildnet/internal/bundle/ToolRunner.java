package dev.buildnet.internal.bundle;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * Runs one tool invocation for a target and turns it into a {@link BuildResult}: the command's
 * outcome, the tool's diagnostics, the artifacts, and the metrics. Shared by every adapter.
 */
public final class ToolRunner {
  private static final int STDERR_TAIL_LINES = 20;

  private final String toolName;
  private final ShellProvider shell;
  private final HashProvider hashes;

  public ToolRunner(String toolName, ShellProvider shell, HashProvider hashes) {
    this.toolName = toolName;
    this.shell = shell;
    this.hashes = hashes;
  }

  /**
   * Runs {@code argv} in the context's working directory with exactly its environment.
   *
   * @param startNanos when the adapter's {@code build} began, for the pre-build phase
   * @param outputs where the artifacts are, given whether the tool succeeded; checked afterwards
   */
  public BuildResult run(
      long startNanos,
      BuildContext context,
      List<String> argv,
      DiagnosticParser parser,
      Function<CommandResult, OutputCheck> outputs) {
    CommandSpec spec =
        new CommandSpec(
            argv,
            context.workingDirectory(),
            context.environment(),
            context.timeout(),
            CommandSpec.DEFAULT_GRACE_PERIOD,
            CommandSpec.DEFAULT_OUTPUT_CAP_BYTES);
    long commandNanos = System.nanoTime();
    CommandResult result = await(shell.start(spec, OutputListener.discard()), context);
    long postNanos = System.nanoTime();

    String stdout = new String(result.stdout(), UTF_8);
    String stderr = new String(result.stderr(), UTF_8);
    Diagnostics diagnostics =
        parser.parse(
            stdout,
            stderr,
            new DiagnosticParser.SourcePaths(context.workspace(), context.workingDirectory()));
    List<BuildError> errors = new ArrayList<>(diagnostics.errors());
    if (result.outcome() == CommandResult.Outcome.TIMED_OUT) {
      errors.add(
          BuildError.of(
              "TIMEOUT",
              toolName + " ran longer than " + context.timeout() + " and was stopped"));
    } else if (result.outcome() == CommandResult.Outcome.CANCELLED) {
      errors.add(BuildError.of("CANCELLED", toolName + " was cancelled"));
    } else if (result.exitCode() != 0 && errors.isEmpty()) {
      errors.add(
          BuildError.of(
              "EXIT_CODE",
              toolName + " exited with code " + result.exitCode() + tail(stderr, stdout)));
    }
    OutputCheck check = outputs.apply(result);
    errors.addAll(check.errors());
    boolean success = result.succeeded() && errors.isEmpty();
    List<Artifact> artifacts =
        success ? Artifacts.collect(check.roots(), context.workspace(), hashes) : List.of();
    long endNanos = System.nanoTime();

    Duration total = Duration.ofNanos(endNanos - startNanos);
    BuildMetrics metrics =
        new BuildMetrics(
            Duration.ZERO,
            total,
            new BuildMetrics.Phases(
                Duration.ofNanos(commandNanos - startNanos),
                Duration.ofNanos(postNanos - commandNanos),
                Duration.ofNanos(endNanos - postNanos)),
            BuildMetrics.Cache.ZERO,
            new BuildMetrics.Resources(result.peakMemoryBytes(), cpuPercent(result), 0, 0));
    return new BuildResult(
        success, context.buildId(), total, artifacts, errors, diagnostics.warnings(), metrics);
  }

  /** Where to collect artifacts, and any error found while checking that they exist. */
  public record OutputCheck(List<Path> roots, List<BuildError> errors) {}

  private CommandResult await(RunningCommand command, BuildContext context) {
    try {
      return command.result().get();
    } catch (InterruptedException e) {
      command.cancel();
      Thread.currentThread().interrupt();
      throw new BuildNetException(
          toolName + " build of target '" + context.target() + "' was interrupted; the tool was stopped",
          e);
    } catch (ExecutionException e) {
      throw new BuildNetException(
          "could not run " + toolName + " for target '" + context.target() + "'", e.getCause());
    }
  }

  private static double cpuPercent(CommandResult result) {
    long wall = result.wallTime().toNanos();
    return wall <= 0 ? 0.0 : 100.0 * result.cpuTime().toNanos() / wall;
  }

  /** The last lines the tool printed, so an unexplained failure still says something. */
  private static String tail(String stderr, String stdout) {
    String text = stderr.isBlank() ? stdout : stderr;
    List<String> lines = DiagnosticParser.stripAnsi(text).strip().lines().toList();
    if (lines.isEmpty()) {
      return " and printed nothing";
    }
    List<String> last = lines.subList(Math.max(0, lines.size() - STDERR_TAIL_LINES), lines.size());
    return ":\n" + String.join("\n", last);
  }
}
