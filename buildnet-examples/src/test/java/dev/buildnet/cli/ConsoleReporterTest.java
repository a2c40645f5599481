package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reporter fed a build's events directly: 5,000 cached targets, one built, one failed. */
class ConsoleReporterTest {
  private static TargetOutcome outcome(String name, Status status) {
    return new TargetOutcome(name, status, status == Status.FAILED ? "line one\nline two" : "",
        "xxh64:0", status == Status.FAILED ? 2 : -1, 1, Duration.ofMillis(5), List.of(),
        List.of(), BuildMetrics.EMPTY);
  }

  private static String feed(boolean live, ConsoleReporter.Verbosity verbosity) {
    StringWriter text = new StringWriter();
    ConsoleReporter r = new ConsoleReporter(new PrintWriter(text), live, false, verbosity);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      names.add("t" + i);
    }
    names.add("made");
    names.add("broke");
    r.buildStarted("b", names);
    for (String n : names) {
      r.targetStarted("b", n, 1);
      Status s = n.equals("made") ? Status.BUILT : n.equals("broke") ? Status.FAILED : Status.CACHED;
      r.targetFinished("b", outcome(n, s));
    }
    return text.toString();
  }

  @Test
  void byDefault_onlyTargetsThatRanOrFailedGetARow() {
    String out = feed(false, ConsoleReporter.Verbosity.NORMAL);

    assertEquals(List.of("building 5002 targets", "  built    made     5 ms",
        "  failed   broke    exit code 2 (see below)"), out.lines().toList());
  }

  @Test
  void cachedTargetsLogs_areAskedForOnlyWhenPrinted() {
    PrintWriter w = new PrintWriter(new StringWriter());
    assertTrue(new ConsoleReporter(w, false, true).wantsReplayedLogs());
    assertFalse(new ConsoleReporter(w, false, false).wantsReplayedLogs());
    assertFalse(new ConsoleReporter(w, true, false, ConsoleReporter.Verbosity.VERBOSE)
        .wantsReplayedLogs());
  }

  @Test
  void verbose_givesEveryTargetARow_quietNone() {
    assertEquals(5003, feed(false, ConsoleReporter.Verbosity.VERBOSE).lines().count());
    assertEquals("", feed(false, ConsoleReporter.Verbosity.QUIET));
    assertEquals("", feed(true, ConsoleReporter.Verbosity.QUIET), "quiet never draws progress");
  }

  @Test
  void onATerminal_aProgressLineIsRedrawn_andStatusesAreColoured() {
    String out = feed(true, ConsoleReporter.Verbosity.NORMAL);

    assertTrue(out.contains("\r["), out.substring(0, 200));
    assertTrue(out.contains("\u001b[31mfailed  \u001b[0m broke"), out);
    assertFalse(feed(false, ConsoleReporter.Verbosity.NORMAL).contains("\u001b"));
  }
}
