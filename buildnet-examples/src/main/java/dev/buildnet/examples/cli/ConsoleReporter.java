package dev.buildnet.examples.cli;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shows a build on a terminal: a live progress bar when attached to one, a line per finished
 * target otherwise, and a summary table at the end.
 */
final class ConsoleReporter implements BuildListener {
  private static final int BAR = 30;

  private final PrintWriter out;
  private final boolean live;
  private final boolean showLogs;
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger done = new AtomicInteger();
  private final Set<String> running = new ConcurrentSkipListSet<>();

  ConsoleReporter(PrintWriter out, boolean live, boolean showLogs) {
    this.out = out;
    this.live = live;
    this.showLogs = showLogs;
  }

  @Override
  public void buildStarted(String buildId, List<String> targets) {
    total.set(targets.size());
    done.set(0);
    synchronized (out) {
      out.printf("building %d target%s%n", targets.size(), targets.size() == 1 ? "" : "s");
    }
  }

  @Override
  public void targetStarted(String buildId, String target, int attempt) {
    running.add(target);
    redraw();
  }

  @Override
  public void logLine(
      String buildId, String target, OutputListener.Stream stream, String line, boolean replayed) {
    if (showLogs) {
      synchronized (out) {
        clearLine();
        out.printf("  %s%s | %s%n", target, replayed ? " (cached)" : "", line);
      }
      redraw();
    }
  }

  @Override
  public void targetFinished(String buildId, TargetOutcome o) {
    running.remove(o.target());
    done.incrementAndGet();
    synchronized (out) {
      clearLine();
      out.printf("  %-8s %-14s %s%n", label(o.status()), o.target(), note(o));
      out.flush();
    }
    redraw();
  }

  @Override
  public void buildFinished(BuildResult result) {
    synchronized (out) {
      clearLine();
    }
  }

  private void redraw() {
    if (!live) {
      return;
    }
    int t = Math.max(1, total.get());
    int d = done.get();
    int filled = d * BAR / t;
    String now = running.isEmpty() ? "" : " " + String.join(", ", running);
    if (now.length() > 40) {
      now = now.substring(0, 39) + "…";
    }
    synchronized (out) {
      out.print("\r[" + "#".repeat(filled) + " ".repeat(BAR - filled) + "] " + d + "/" + t + now
          + "\u001b[K");
      out.flush();
    }
  }

  private void clearLine() {
    if (live) {
      out.print("\r\u001b[K");
    }
  }

  static String label(TargetOutcome.Status s) {
    return s.name().toLowerCase(Locale.ROOT);
  }

  private static String note(TargetOutcome o) {
    return switch (o.status()) {
      case BUILT -> millis(o.duration());
      case CACHED -> "saved " + millis(o.metrics().cache().timeSaved());
      default -> o.reason();
    };
  }

  static String millis(Duration d) {
    long ms = d.toMillis();
    return ms < 1000 ? ms + " ms" : String.format(Locale.ROOT, "%.2f s", ms / 1000.0);
  }

  /** The table printed after a build. */
  static void summary(PrintWriter out, BuildResult r) {
    out.println();
    out.printf("%-16s %-9s %10s  %s%n", "target", "status", "time", "note");
    out.println("-".repeat(60));
    for (TargetOutcome o : r.targets()) {
      String time = millis(o.duration());
      String note = switch (o.status()) {
        case CACHED -> "saved " + millis(o.metrics().cache().timeSaved());
        case BUILT -> o.artifacts().size() + " output file" + (o.artifacts().size() == 1 ? "" : "s");
        default -> o.reason();
      };
      out.printf("%-16s %-9s %10s  %s%n", o.target(), label(o.status()), time, note);
    }
    out.println("-".repeat(60));
    out.printf(
        "built %d, cached %d, failed %d, skipped %d in %s; cache saved %s (hit ratio %.0f%%)%n",
        r.count(TargetOutcome.Status.BUILT),
        r.count(TargetOutcome.Status.CACHED),
        r.count(TargetOutcome.Status.FAILED),
        r.count(TargetOutcome.Status.SKIPPED) + r.count(TargetOutcome.Status.CANCELLED),
        millis(r.duration()),
        millis(r.metrics().cache().timeSaved()),
        r.metrics().cache().hitRatio() * 100);
    for (var e : r.errors()) {
      out.println("error: " + e);
    }
  }
}
