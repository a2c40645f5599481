package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.Watch;
import dev.buildnet.WatchListener;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code buildnet build --watch}: builds, then rebuilds what each change affects until Ctrl-C,
 * printing one short summary per cycle: what changed, what ran, and what failed with its first
 * error lines.
 *
 * <p>Ctrl-C (SIGINT) or SIGTERM runs a shutdown hook that closes the watch: the running cycle's
 * build is cancelled, its process trees are killed and awaited, and the JVM exits (130 or 143) with
 * nothing left running.
 */
final class WatchLoop {
  private static final int ERROR_LINES = 5;
  private static final int LISTED_PATHS = 3;

  private WatchLoop() {}

  /** Watches {@code targets} until the JVM is asked to stop; returns only if the watch ends. */
  static int run(BuildNet net, List<String> targets, PrintWriter out) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Watch watch = net.watch(targets, new Printer(out));
    Thread hook = new Thread(() -> {
      watch.close(); // cancels the running build and waits for its processes to end
      out.println("watch stopped");
      out.flush();
      stopped.countDown();
    }, "buildnet-cli-watch-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.println("watching " + String.join(", ", targets) + " (Ctrl-C stops)");
    out.flush();
    stopped.await(); // the hook ends the watch; the JVM exits once the hook returns
    return 0;
  }

  /** One summary per cycle. */
  static final class Printer implements WatchListener {
    private final PrintWriter out;

    Printer(PrintWriter out) {
      this.out = out;
    }

    @Override
    public void cycleStarted(Cycle c) {
      if (c.targets().isEmpty()) {
        out.println("[" + c.number() + "] " + changed(c) + ": nothing to rebuild");
      } else if (c.number() > 1) {
        out.println("[" + c.number() + "] " + changed(c) + ": rebuilding "
            + String.join(", ", c.targets()));
      }
      out.flush();
    }

    @Override
    public void cycleFinished(Cycle c, BuildResult r) {
      out.println(summary(c, r));
      out.flush();
    }

    @Override
    public void notice(String message) {
      out.println("watch: " + message);
      out.flush();
    }
  }

  static String changed(WatchListener.Cycle c) {
    if (c.changedCount() == 0) {
      return c.rescanned() ? "rescanned" : "start";
    }
    List<String> shown = c.changedPaths().subList(0, Math.min(LISTED_PATHS, c.changedPaths().size()));
    String more = c.changedCount() > shown.size() ? " (+" + (c.changedCount() - shown.size()) + " more)" : "";
    return "changed " + String.join(", ", shown) + more;
  }

  /** E.g. {@code [3] ran app, lib (1 built, 1 cached) in 412 ms: ok}, plus failures' first lines. */
  static String summary(WatchListener.Cycle c, BuildResult r) {
    List<String> ran = new ArrayList<>();
    List<TargetOutcome> failed = new ArrayList<>();
    int built = 0;
    int cached = 0;
    for (TargetOutcome o : r.targets()) {
      switch (o.status()) {
        case BUILT -> {
          built++;
          ran.add(o.target());
        }
        case CACHED -> cached++;
        case FAILED -> {
          failed.add(o);
          ran.add(o.target());
        }
        default -> { }
      }
    }
    StringBuilder sb = new StringBuilder("[" + c.number() + "] ");
    sb.append(ran.isEmpty() ? "ran nothing" : "ran " + String.join(", ", ran));
    sb.append(" (").append(built).append(" built, ").append(cached).append(" cached) in ")
        .append(r.duration().toMillis()).append(" ms: ");
    boolean cancelled = r.targets().stream()
        .anyMatch(o -> o.status() == TargetOutcome.Status.CANCELLED);
    sb.append(r.success() ? "ok" : cancelled && failed.isEmpty() ? "cancelled by a newer change"
        : "FAILED");
    for (TargetOutcome o : failed) {
      sb.append("\n  ").append(o.target()).append(": ").append(ConsoleReporter.firstLine(o.reason()));
      int lines = 0;
      for (BuildError e : o.errors()) {
        for (String line : e.message().split("\n")) {
          if (lines++ < ERROR_LINES && !line.isBlank()) {
            sb.append("\n    ").append(line);
          }
        }
      }
    }
    return sb.toString();
  }
}
