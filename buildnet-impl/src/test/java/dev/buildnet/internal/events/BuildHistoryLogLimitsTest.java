package dev.buildnet.internal.events;

import dev.buildnet.LogLimits;

import static dev.buildnet.internal.events.BuildHistoryTest.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.exec.OutputListener.Stream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The history's logs are bounded in bytes per target, per build and in total, keeping each log's
 * head and tail around a marker. Every line below is 100 characters: 101 bytes with its newline,
 * and it costs 165 of a limit (64 for the objects that hold it).
 */
class BuildHistoryLogLimitsTest {
  private static final long TEXT = 101;
  private final Clock clock = Clock.fixed(Instant.parse("2026-12-03T12:00:00Z"), ZoneOffset.UTC);

  private static String line(int i) {
    return String.format("%03d", i) + "x".repeat(97);
  }

  private static List<String> lines(int from, int to) {
    return IntStream.range(from, to).mapToObj(BuildHistoryLogLimitsTest::line).toList();
  }

  private static List<String> texts(BuildHistory h, String build, String target) {
    return h.log(build, target).stream().map(BuildHistory.LogLine::line).toList();
  }

  private static void log(BuildHistory h, String build, String target, int count) {
    for (int i = 0; i < count; i++) {
      h.logLine(build, target, Stream.STDOUT, line(i), false);
    }
  }

  private static String marker(long bytes) {
    return "[buildnet: " + bytes + " bytes omitted]";
  }

  @Test
  void aTargetPastItsLimit_keepsItsHeadAndItsLatestLinesAroundAMarker() {
    BuildHistory h = new BuildHistory(clock, 10, 5_000, new LogLimits(2000, 3000, 1 << 20));
    h.buildStarted("b", List.of("t"));

    log(h, "b", "t", 100);

    // 12 lines fit in 2000; the head is the first 6 (half the limit), the tail the latest 6.
    List<String> expected = new ArrayList<>(lines(0, 6));
    expected.add(marker(88 * TEXT));
    expected.addAll(lines(94, 100));
    assertEquals(expected, texts(h, "b", "t"));
    assertTrue(h.logBytes() <= 2000, "kept " + h.logBytes());
    assertEquals(12, h.build("b").orElseThrow().targets().get(0).logLines());
  }

  @Test
  void aBuildPastItsLimit_keepsWhatItsTargetsAlreadyHave_andCountsTheRest() {
    BuildHistory h = new BuildHistory(clock, 10, 5_000, new LogLimits(2000, 3000, 1 << 20));
    h.buildStarted("b", List.of("first", "second"));

    log(h, "b", "first", 100);
    log(h, "b", "second", 100);

    assertEquals(12 + 1, texts(h, "b", "first").size());
    // The build had room for 6 more lines: they are the second target's head.
    List<String> expected = new ArrayList<>(lines(0, 6));
    expected.add(marker(94 * TEXT));
    assertEquals(expected, texts(h, "b", "second"));
    assertTrue(h.logBytes() <= 3000, "kept " + h.logBytes());
  }

  @Test
  void pastTheTotal_theOldestFinishedBuildsLoseTheirLogsFirst() {
    BuildHistory h = new BuildHistory(clock, 10, 5_000, new LogLimits(2000, 2000, 4000));
    for (String id : List.of("old", "newer")) {
      h.buildStarted(id, List.of("t"));
      log(h, id, "t", 12);
      h.buildFinished(result(id, true));
    }
    h.buildStarted("running", List.of("t"));

    log(h, "running", "t", 1);

    assertEquals(List.of(marker(12 * TEXT)), texts(h, "old", "t"));
    assertEquals(lines(0, 12), texts(h, "newer", "t"));
    assertEquals(lines(0, 1), texts(h, "running", "t"));
    assertTrue(h.logBytes() <= 4000, "kept " + h.logBytes());
  }

  @Test
  void forgottenBuilds_giveBackTheirBytes() {
    BuildHistory h = new BuildHistory(clock, 1, 5_000, new LogLimits(2000, 2000, 4000));
    h.buildStarted("first", List.of("t"));
    log(h, "first", "t", 12);
    h.buildFinished(result("first", true));
    long one = h.logBytes();
    h.buildStarted("second", List.of("t"));
    log(h, "second", "t", 12);
    h.buildFinished(result("second", true));

    assertTrue(h.build("first").isEmpty());
    assertEquals(one, h.logBytes());
  }

  @Test
  void badLimitsAreRefusedWithWhatIsWrong() {
    IllegalArgumentException small =
        assertThrows(IllegalArgumentException.class, () -> new LogLimits(10, 20, 30));
    assertTrue(small.getMessage().contains("perTargetBytes"), small.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new LogLimits(4096, 2048, 1 << 20));
    assertThrows(IllegalArgumentException.class, () -> new LogLimits(4096, 8192, 4096));
    assertThrows(IllegalArgumentException.class, () -> new LogLimits(1L << 31, 1L << 32, 1L << 33));
  }
}
