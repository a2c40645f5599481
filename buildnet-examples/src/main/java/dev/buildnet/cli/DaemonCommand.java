package dev.buildnet.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code buildnet daemon status|stop [-w DIR]}, and {@code daemon run}, which {@code bin/buildnet}
 * starts in the background (see {@link Daemon}).
 */
@Command(name = "daemon", mixinStandardHelpOptions = true,
    description = "Shows or stops the workspace's build daemon (bin/buildnet starts it).",
    subcommands = {DaemonCommand.Status.class, DaemonCommand.Stop.class, DaemonCommand.Run.class})
final class DaemonCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code workspace}'s real path; a usage error, worded as build's, if it is no directory. */
  private static Path realWorkspace(Path workspace) throws IOException {
    if (!java.nio.file.Files.isDirectory(workspace)) {
      throw new IllegalArgumentException("workspace " + workspace.toAbsolutePath().normalize()
          + " is not an existing directory");
    }
    return workspace.toRealPath();
  }

  /** Connects, sends {@code request}, and returns the reply frames' text; empty if none runs. */
  private static Optional<String> ask(Path workspace, String request) throws IOException {
    Path file = DaemonFiles.stateFile(System.getenv(), realWorkspace(workspace));
    Optional<DaemonFiles.State> state = DaemonFiles.read(file);
    if (state.isEmpty() || ProcessHandle.of(state.get().pid()).map(p -> !p.isAlive()).orElse(true)) {
      return Optional.empty();
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), state.get().port()), 10_000);
      s.setSoTimeout(60_000);
      OutputStream out = s.getOutputStream();
      out.write((Daemon.MAGIC + "\0" + state.get().token() + "\0" + request + "\0")
          .getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
          StandardCharsets.UTF_8));
      StringBuilder text = new StringBuilder();
      for (String line; (line = in.readLine()) != null; ) {
        if (line.startsWith("x|")) {
          return Optional.of(text.toString());
        }
        if (line.startsWith("error: ")) {
          throw new IOException("the daemon refused: " + line.substring(7));
        }
        text.append(line.substring(Math.min(2, line.length()))).append('\n');
      }
      throw new IOException("the daemon closed the connection without an answer");
    } catch (java.net.ConnectException e) {
      return Optional.empty(); // its pid lives on but nothing listens: not a daemon of ours
    }
  }

  /**
   * Tells the workspace's daemon, if one runs, that its cache was changed by this process (clean,
   * gc), so its next build opens a BuildNet that reads the cache afresh. A daemon that cannot be
   * told is named on {@code err} with what to do, and the command still succeeds: its own work is
   * done.
   */
  static void cacheChanged(Path workspace, PrintWriter err) {
    try {
      ask(workspace, "forget");
    } catch (IOException e) {
      err.println("warning: could not tell the build daemon of " + workspace + " that the cache"
          + " changed (" + e.getMessage() + "); its next build may report targets whose outputs"
          + " are in place as cached: run 'buildnet daemon stop' to be sure");
      err.flush();
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Says whether a daemon serves the workspace (exit code 0) or not (1).")
  static final class Status implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Option(names = {"-w", "--workspace"}, defaultValue = ".", description = "The workspace root.")
    Path workspace;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      Optional<String> reply = ask(workspace, "status");
      out.print(reply.orElse("no daemon for " + workspace.toRealPath() + "\n"));
      out.flush();
      return reply.isPresent() ? 0 : 1;
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Stops the workspace's daemon: its running builds are cancelled and every"
          + " process they started is killed.")
  static final class Stop implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Option(names = {"-w", "--workspace"}, defaultValue = ".", description = "The workspace root.")
    Path workspace;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      Path file = DaemonFiles.stateFile(System.getenv(), realWorkspace(workspace));
      Optional<DaemonFiles.State> state = DaemonFiles.read(file);
      Optional<String> reply = ask(workspace, "stop");
      if (reply.isEmpty() || state.isEmpty()) {
        out.println("no daemon for " + workspace.toRealPath());
        out.flush();
        return 0;
      }
      long pid = state.get().pid();
      Optional<ProcessHandle> p = ProcessHandle.of(pid);
      if (p.isPresent()) {
        try {
          p.get().onExit().get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          spec.commandLine().getErr().println("error: daemon " + pid
              + " did not stop within 60 s");
          spec.commandLine().getErr().flush();
          return BuildNetCli.FAILED;
        }
      }
      out.println("stopped daemon " + pid);
      out.flush();
      return 0;
    }
  }

  @Command(name = "run", hidden = true,
      description = "Runs the daemon in this process (bin/buildnet does this in the background).")
  static final class Run implements Callable<Integer> {
    @Option(names = "--state-file", required = true) Path stateFile;
    @Option(names = "--jar-id", defaultValue = "unknown") String jarId;
    @Option(names = "--idle-timeout", defaultValue = "${env:BUILDNET_DAEMON_IDLE_TIMEOUT:-3h}",
        description = "Stop after this long without a request: 90s, 30m, 3h (default 3h, or"
            + " $BUILDNET_DAEMON_IDLE_TIMEOUT).")
    String idleTimeout;

    @Override
    public Integer call() throws IOException {
      return new Daemon(stateFile.toAbsolutePath(), jarId, parseDuration(idleTimeout), System.out)
          .run();
    }
  }

  static Duration parseDuration(String text) {
    String t = text.strip().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      long n = Long.parseLong(t.substring(0, t.length() - (Character.isDigit(t.charAt(t.length() - 1)) ? 0 : 1)));
      return switch (t.charAt(t.length() - 1)) {
        case 'h' -> Duration.ofHours(n);
        case 'm' -> Duration.ofMinutes(n);
        case 's' -> Duration.ofSeconds(n);
        default -> Duration.ofSeconds(n);
      };
    } catch (RuntimeException e) {
      throw new CommandLine.TypeConversionException("bad duration '" + text
          + "': use 90s, 30m or 3h");
    }
  }
}
