package dev.buildnet.cli;

import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shows a build on a terminal, quiet by default: a live progress line when attached to one, a row
 * per target that ran, failed or was skipped (a cached target gets a row only with {@code
 * --verbose}), each failure's message once at the end, and a summary line. {@code --quiet} prints
 * only the errors. Escape sequences (redraws, colour) only when {@code live}.
 */
final class ConsoleReporter implements BuildListener,
    dev.buildnet.internal.addon.AddOns.ReplayedLogs {
  /** How much to print. */
  enum Verbosity { QUIET, NORMAL, VERBOSE }

  private static final int BAR = 30;
  /** Longer names are not cut: the column just stops being aligned for them. */
  private static final int MAX_NAME_COLUMN = 48;
  private static final String RESET = "\u001b[0m";

  private final PrintWriter out;
  private final boolean live;
  private final boolean showLogs;
  private final Verbosity verbosity;
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger done = new AtomicInteger();
  private final Set<String> running = new ConcurrentSkipListSet<>();
  private volatile int nameColumn = 8;
  /** When the progress line was last drawn: redraws are capped at 20 a second. */
  private long lastDrawNanos;
  private static final long REDRAW_NANOS = 50_000_000L;

  ConsoleReporter(PrintWriter out, boolean live, boolean showLogs) {
    this(out, live, showLogs, Verbosity.NORMAL);
  }

  ConsoleReporter(PrintWriter out, boolean live, boolean showLogs, Verbosity verbosity) {
    this.out = out;
    this.live = live && verbosity != Verbosity.QUIET;
    this.showLogs = showLogs;
    this.verbosity = verbosity;
  }

  @Override
  public void buildStarted(String buildId, List<String> targets) {
    total.set(targets.size());
    done.set(0);
    nameColumn = nameColumn(targets);
    if (verbosity == Verbosity.QUIET) {
      return;
    }
    synchronized (out) {
      out.printf("building %d target%s%n", targets.size(), targets.size() == 1 ? "" : "s");
      out.flush();
    }
  }

  @Override
  public void targetStarted(String buildId, String target, int attempt) {
    running.add(target);
    redraw(false);
  }

  /** Cached targets' lines are printed with {@code --logs} only: otherwise not even read. */
  @Override
  public boolean wantsReplayedLogs() {
    return showLogs;
  }

  @Override
  public void logLine(
      String buildId, String target, OutputListener.Stream stream, String line, boolean replayed) {
    if (showLogs) {
      synchronized (out) {
        clearLine();
        out.printf("  %s%s | %s%n", target, replayed ? " (cached)" : "", line);
      }
      redraw(true);
    }
  }

  @Override
  public void targetFinished(String buildId, TargetOutcome o) {
    running.remove(o.target());
    done.incrementAndGet();
    boolean printed = shows(o.status());
    if (printed) {
      synchronized (out) {
        clearLine();
        out.println(row(o));
        out.flush();
      }
    }
    // After a row the line was cleared and must come back; otherwise a 5,000-target cached
    // build would redraw 10,000 times.
    redraw(printed);
  }

  @Override
  public void buildFinished(BuildResult result) {
    synchronized (out) {
      clearLine();
      out.flush();
    }
  }

  /** A cached target is news only with --verbose; nothing is with --quiet. */
  private boolean shows(TargetOutcome.Status s) {
    return switch (verbosity) {
      case QUIET -> false;
      case NORMAL -> s != TargetOutcome.Status.CACHED;
      case VERBOSE -> true;
    };
  }

  private String row(TargetOutcome o) {
    String label = String.format(Locale.ROOT, "%-8s", label(o.status()));
    if (live) {
      label = colour(o.status()) + label + RESET;
    }
    return String.format(Locale.ROOT, "  %s %-" + nameColumn + "s %s", label, o.target(), note(o))
        .stripTrailing();
  }

  private static String colour(TargetOutcome.Status s) {
    return switch (s) {
      case BUILT -> "\u001b[32m";
      case CACHED -> "\u001b[2m";
      case FAILED -> "\u001b[31m";
      default -> "\u001b[33m";
    };
  }

  static int nameColumn(List<String> names) {
    int w = 8;
    for (String n : names) {
      w = Math.max(w, Math.min(MAX_NAME_COLUMN, n.length()));
    }
    return w;
  }

  private void redraw(boolean now) {
    if (!live) {
      return;
    }
    synchronized (out) {
      long t = System.nanoTime();
      if (!now && lastDrawNanos != 0 && t - lastDrawNanos < REDRAW_NANOS) {
        return;
      }
      lastDrawNanos = t;
    }
    int t = Math.max(1, total.get());
    int d = done.get();
    int filled = Math.min(BAR, d * BAR / t);
    String names = running.isEmpty() ? "" : " " + String.join(", ", running);
    if (names.length() > 40) {
      names = names.substring(0, 39) + "…";
    }
    synchronized (out) {
      out.print("\r[" + "#".repeat(filled) + " ".repeat(BAR - filled) + "] " + d + "/" + t + names
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

  /**
   * The row's note. For a failure only the first line of its reason: the full message (with the
   * tail of the output) is printed once, after the build.
   */
  private static String note(TargetOutcome o) {
    return switch (o.status()) {
      case BUILT -> millis(o.duration());
      case CACHED -> "saved " + millis(o.metrics().cache().timeSaved());
      case FAILED -> o.exitCode() > 0 ? "exit code " + o.exitCode() + " (see below)"
          : firstLine(o.reason());
      default -> firstLine(o.reason());
    };
  }

  static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl) + " …";
  }

  static String millis(Duration d) {
    long ms = d.toMillis();
    return ms < 1000 ? ms + " ms" : String.format(Locale.ROOT, "%.2f s", ms / 1000.0);
  }

  /** Each error of the build once: the build's list, then any a failed target has on its own. */
  static Set<String> errors(BuildResult r) {
    Set<String> all = new LinkedHashSet<>();
    for (BuildError e : r.errors()) {
      all.add(e.toString());
    }
    for (TargetOutcome o : r.targets()) {
      if (o.status() == TargetOutcome.Status.FAILED) {
        if (o.errors().isEmpty()) {
          all.add("'" + o.target() + "': " + o.reason());
        }
        for (BuildError e : o.errors()) {
          all.add(e.toString());
        }
      }
    }
    return all;
  }

  /** After a build: its errors, each once, and (unless quiet) the summary line. */
  static void summary(PrintWriter out, BuildResult r) {
    summary(out, r, Verbosity.NORMAL);
  }

  static void summary(PrintWriter out, BuildResult r, Verbosity verbosity) {
    Set<String> errors = errors(r);
    if (!errors.isEmpty()) {
      if (verbosity != Verbosity.QUIET) {
        out.println(); // sets the errors apart from the rows above; quiet printed none
      }
      for (String e : errors) {
        out.println("error: " + e);
      }
    }
    if (verbosity != Verbosity.QUIET) {
      out.println(summaryLine(r));
    }
    out.flush();
  }

  static String summaryLine(BuildResult r) {
    var cache = r.metrics().cache();
    long cancelled = r.count(TargetOutcome.Status.CANCELLED);
    // Cancelled targets are counted as such (their rows say so, as --json does), and only when
    // there are any: the usual line keeps its four counts.
    return String.format(Locale.ROOT,
        "built %d, cached %d, failed %d, skipped %d%s in %s; cache saved %s (%s)",
        r.count(TargetOutcome.Status.BUILT),
        r.count(TargetOutcome.Status.CACHED),
        r.count(TargetOutcome.Status.FAILED),
        r.count(TargetOutcome.Status.SKIPPED),
        cancelled > 0 ? ", cancelled " + cancelled : "",
        millis(r.duration()),
        millis(cache.timeSaved()),
        hitRatio(cache.hits(), cache.misses()));
  }

  /**
   * Rounded down, with the counts: 999 hits of 1,000 is "hit ratio 99%, 999/1000", never 100%.
   */
  static String hitRatio(long hits, long misses) {
    long total = hits + misses;
    if (total == 0) {
      return "no cache lookups";
    }
    return "hit ratio " + (hits * 100 / total) + "%, " + hits + "/" + total;
  }
}
