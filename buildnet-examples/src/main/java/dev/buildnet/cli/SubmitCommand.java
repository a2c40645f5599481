package dev.buildnet.cli;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.client.RemoteBuild;
import dev.buildnet.client.RemoteBuildResult;
import dev.buildnet.client.RemoteClient;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Submits a build to a running master ({@code buildnet serve}) and follows it: prints its events
 * as they come, then the result. Exit code 0 if the build succeeded, 1 if it failed, was refused
 * or the master could not be reached. Ctrl-C cancels the build.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
    description = "Runs targets on a master (see 'serve') and prints the build's events and result.")
final class SubmitCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--master", required = true, description = "HOST:PORT of the master.")
  String master;

  @picocli.CommandLine.Mixin TlsOptions tls = new TlsOptions();

  @Option(names = "--secret-file", required = true,
      description = "File holding the shared secret (at least 16 bytes).")
  Path secretFile;

  @Option(names = {"-k", "--keep-going"},
      description = "Keep building what does not depend on a failed target.")
  boolean keepGoing;

  // Two plain flags rather than one negatable option: picocli's negatable with a default of true
  // let --no-logs leave logs on.
  @Option(names = "--no-logs", description = "Print none of the targets' output lines, and only"
      + " the number of outputs (default: output lines and up to "
      + SubmitCommand.LISTED_OUTPUTS + " outputs).")
  boolean noLogs;

  @Option(names = "--logs", description = "Print the targets' output lines (the default).")
  boolean logsFlag;

  private boolean logs;

  @Parameters(arity = "1..*", paramLabel = "TARGET", description = "Targets to build.")
  List<String> targets;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (noLogs && logsFlag) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--logs and --no-logs are mutually exclusive");
    }
    logs = !noLogs;
    var address = ServeCommand.parse("--master", master);
    RemoteClient.Builder cb = RemoteClient.builder().address(address)
        .transport(tls.transport(ServeCommand.readSecret(secretFile), false).build());
    try (RemoteClient client = cb.connect()) {
      RemoteBuild build = client.newBuild(targets).keepGoing(keepGoing).logs(logs)
          .onEvent(e -> {
            if (logs || e.kind() != BuildEvent.Kind.LOG) {
              print(out, describe(e));
            }
          }).submit();
      Thread cancel = new Thread(() -> cancelQuietly(build), "buildnet-submit-cancel");
      Runtime.getRuntime().addShutdownHook(cancel);
      RemoteBuildResult r;
      try {
        r = build.result().get();
      } finally {
        removeHook(cancel);
      }
      report(out, r, logs);
      return r.success() ? 0 : 1;
    } catch (BuildNetException e) {
      // An error is one line on standard error (docs/CLI.md); standard output is the build's.
      print(spec.commandLine().getErr(), "error: " + e.getMessage());
      return 1;
    } catch (ExecutionException e) {
      print(spec.commandLine().getErr(), "error: " + e.getCause().getMessage());
      return 1;
    }
  }

  private static void cancelQuietly(RemoteBuild build) {
    try {
      if (!build.result().isDone()) {
        build.cancel();
      }
    } catch (RuntimeException e) {
      // exiting anyway; the master may have ended the build already
    }
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // shutting down: the hook is running or has run
    }
  }

  static String describe(BuildEvent e) {
    if (e instanceof BuildEvent.BuildStarted) {
      return "build " + e.buildId() + " started";
    } else if (e instanceof BuildEvent.TargetStarted s) {
      return s.target() + ": started";
    } else if (e instanceof BuildEvent.TargetLog l) {
      return l.target() + (l.stream() == dev.buildnet.api.exec.OutputListener.Stream.STDERR
          ? " ! " : " | ") + l.line();
    } else if (e instanceof BuildEvent.TargetFinished f) {
      return f.target() + ": " + f.status().wireName();
    } else if (e instanceof BuildEvent.BuildFinished f) {
      return "build " + e.buildId() + " " + f.status().wireName();
    }
    return e.kind().wireName();
  }

  /** At most this many outputs are listed; a build with thousands says how many there are. */
  static final int LISTED_OUTPUTS = 20;

  static void report(PrintWriter out, RemoteBuildResult r, boolean logs) {
    if (r.success()) {
      long bytes = r.outputs().stream().mapToLong(Artifact::sizeBytes).sum();
      print(out, "succeeded in " + r.duration().toMillis() + " ms: " + r.executed() + " executed, "
          + r.cacheHits() + " from cache; " + r.outputs().size() + " output file"
          + (r.outputs().size() == 1 ? "" : "s") + " (" + ByteSize.format(bytes) + ")");
      if (logs) {
        int shown = Math.min(LISTED_OUTPUTS, r.outputs().size());
        for (Artifact a : r.outputs().subList(0, shown)) {
          print(out, "  " + a.path() + "  " + a.sizeBytes() + " bytes  " + a.digest());
        }
        if (r.outputs().size() > shown) {
          print(out, "  ... and " + (r.outputs().size() - shown) + " more");
        }
      }
    } else {
      print(out, (r.cancelled() ? "cancelled: " : "failed: ") + r.error());
      if (!r.failedTargets().isEmpty()) {
        print(out, "failed targets: " + String.join(", ", r.failedTargets()));
      }
    }
  }

  private static void print(PrintWriter out, String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }
}
