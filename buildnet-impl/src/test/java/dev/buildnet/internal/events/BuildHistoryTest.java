package dev.buildnet.internal.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener.Stream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuildHistoryTest {
  private final Clock clock = Clock.fixed(Instant.parse("2026-11-29T12:00:00Z"), ZoneOffset.UTC);

  @Test
  void aSubscriberSeesTheCurrentStateThenEveryLaterEventInOrder() {
    BuildHistory h = new BuildHistory(clock, 10, 100);
    h.workerJoined("w1");
    h.buildStarted("b1", List.of("lib", "app"));
    h.targetStarted("b1", "lib", 1, "w1");
    h.targetFinished("b1", outcome("lib", TargetOutcome.Status.BUILT));

    List<String> seen = new ArrayList<>();
    BuildHistory.Subscription sub = h.subscribe(null, true, true, e -> seen.add(describe(e)));
    h.targetStarted("b1", "app", 1);
    h.logLine("b1", "app", Stream.STDOUT, "hello", false);
    h.targetFinished("b1", outcome("app", TargetOutcome.Status.FAILED));
    h.buildFinished(result("b1", false));
    sub.close();
    sub.close();
    h.buildStarted("b2", List.of("x"));

    assertEquals(List.of(
        "worker_joined w1", "build_started b1", "target_started b1 lib w1",
        "target_finished b1 lib built", "target_started b1 app null", "log b1 app hello",
        "target_finished b1 app failed", "build_finished b1 failed"), seen);
  }

  @Test
  void aSubscriptionToOneBuildMayPrecedeItAndSkipsLogsUnlessAsked() {
    BuildHistory h = new BuildHistory(clock, 10, 100);
    List<String> seen = new ArrayList<>();
    h.subscribe("b2", false, true, e -> seen.add(describe(e)));
    h.buildStarted("b1", List.of("a"));
    h.buildStarted("b2", List.of("a"));
    h.logLine("b2", "a", Stream.STDERR, "noise", false);
    h.workerJoined("w9");
    h.buildFinished(result("b2", true));
    assertEquals(List.of("build_started b2", "build_finished b2 succeeded"), seen);
  }

  @Test
  void snapshotsShowEachTargetsStatusAndKeepOnlyTheLogTail() {
    BuildHistory h = new BuildHistory(clock, 10, 2);
    h.buildStarted("b1", List.of("lib", "app"));
    h.targetStarted("b1", "lib", 1, "w1");
    for (String line : List.of("one", "two", "three")) {
      h.logLine("b1", "lib", Stream.STDOUT, line, false);
    }
    BuildSnapshot b = h.build("b1").orElseThrow();
    assertEquals("running", b.status());
    assertFalse(b.finished());
    assertEquals("running", b.targets().get(0).status());
    assertEquals("w1", b.targets().get(0).worker());
    assertEquals("pending", b.targets().get(1).status());
    assertEquals(List.of("two", "three"),
        h.log("b1", "lib").stream().map(BuildHistory.LogLine::line).toList());
    assertEquals(List.of(), h.log("b1", "nope"));
    assertEquals(1, h.running());
  }

  @Test
  void finishedBuildsBeyondTheCapAreForgottenOldestFirstButRunningOnesStay() {
    BuildHistory h = new BuildHistory(clock, 2, 0);
    h.buildStarted("running", List.of("a"));
    for (String id : List.of("f1", "f2", "f3")) {
      h.buildStarted(id, List.of("a"));
      h.buildFinished(result(id, true));
    }
    assertEquals(List.of("f3", "f2", "running"),
        h.builds().stream().map(BuildSnapshot::id).toList());
    assertTrue(h.build("f1").isEmpty());
  }

  @Test
  void largeFinishedBuildsAreForgottenPastTheDefaultTargetCap_butTheLastOneStays() {
    // 200 builds of 10,000 targets each once held ~700 MB: the cap on targets bounds it.
    BuildHistory h = new BuildHistory(clock, 200, 0);
    List<String> names = new ArrayList<>();
    for (int i = 0; names.size() < BuildHistory.DEFAULT_MAX_TARGETS * 2 / 5; i++) {
      names.add("t" + i); // 40,000: two builds fit under the cap, three do not
    }
    h.buildStarted("running", List.of("a"));
    for (String id : List.of("f1", "f2", "f3", "f4")) {
      h.buildStarted(id, names);
      h.buildFinished(result(id, true));
    }
    assertEquals(List.of("f4", "f3", "running"),
        h.builds().stream().map(BuildSnapshot::id).toList());

    List<String> huge = new ArrayList<>(names);
    huge.addAll(names.stream().map(n -> n + "-b").toList());
    huge.addAll(names.stream().map(n -> n + "-c").toList()); // 120,000: alone past the cap
    h.buildStarted("huge", huge);
    h.buildFinished(result("huge", true));
    assertEquals(List.of("huge", "running"), h.builds().stream().map(BuildSnapshot::id).toList());
  }

  @Test
  void keepTargetsLowersTheTargetCapAtOnceAndForLaterBuilds() {
    BuildHistory h = new BuildHistory(clock, 200, 0);
    for (String id : List.of("f1", "f2", "f3")) {
      h.buildStarted(id, List.of("a", "b"));
      h.buildFinished(result(id, true));
    }
    h.keepTargets(4);
    assertEquals(List.of("f3", "f2"), h.builds().stream().map(BuildSnapshot::id).toList());
    h.buildStarted("f4", List.of("a", "b", "c"));
    h.buildFinished(result("f4", true));
    assertEquals(List.of("f4"), h.builds().stream().map(BuildSnapshot::id).toList());
    assertThrows(IllegalArgumentException.class, () -> h.keepTargets(0));
  }

  @Test
  void keepBuildsLowersTheCapAtOnceAndForLaterBuilds() {
    BuildHistory h = new BuildHistory(clock, 200, 0);
    h.buildStarted("running", List.of("a"));
    for (String id : List.of("f1", "f2", "f3")) {
      h.buildStarted(id, List.of("a"));
      h.buildFinished(result(id, true));
    }
    h.keepBuilds(1);
    assertEquals(List.of("f3", "running"), h.builds().stream().map(BuildSnapshot::id).toList());
    h.buildStarted("f4", List.of("a"));
    h.buildFinished(result("f4", true));
    assertEquals(List.of("f4", "running"), h.builds().stream().map(BuildSnapshot::id).toList());
    assertThrows(IllegalArgumentException.class, () -> h.keepBuilds(0));
  }

  @Test
  void workersComeAndGo() {
    BuildHistory h = new BuildHistory(clock, 1, 0);
    h.workerJoined("b");
    h.workerJoined("a");
    h.workerLeft("b");
    assertEquals(List.of("a"), h.workers());
  }

  /**
   * A finished build's per-target state is kept compactly (arrays rather than objects): what its
   * snapshot, logs and replay show must be exactly what they showed before it was compacted, and
   * an event still arriving for one of its targets is recorded as before.
   */
  @Test
  void aFinishedBuild_showsExactlyWhatItShowedBeforeItFinished_andTakesLateEvents() {
    Clock ticking = Clock.offset(clock, Duration.ofNanos(123_456_789));
    BuildHistory h = new BuildHistory(ticking, 10, 100);
    h.buildStarted("b1", List.of("lib", "app", "idle"));
    h.targetStarted("b1", "lib", 1, "w1");
    h.logLine("b1", "lib", Stream.STDOUT, "compiling", false);
    h.targetWaiting("b1", "app", "needs capability 'gpu'");
    h.targetFinished("b1", outcome("lib", TargetOutcome.Status.BUILT));
    BuildSnapshot before = h.build("b1").orElseThrow();
    List<String> replayBefore = new ArrayList<>();
    h.subscribe("b1", false, true, e -> replayBefore.add(describe(e))).close();

    h.buildFinished(result("b1", true));
    BuildSnapshot after = h.build("b1").orElseThrow();
    assertEquals(before.targets(), after.targets());
    assertEquals(List.of("compiling"),
        h.log("b1", "lib").stream().map(BuildHistory.LogLine::line).toList());
    assertEquals(List.of(), h.log("b1", "app"));
    assertEquals(List.of(), h.log("b1", "nope"));
    List<String> replayAfter = new ArrayList<>();
    h.subscribe("b1", false, true, e -> replayAfter.add(describe(e))).close();
    replayBefore.add("build_finished b1 succeeded");
    assertEquals(replayBefore, replayAfter);

    h.logLine("b1", "idle", Stream.STDERR, "late", false);
    assertEquals(List.of("late"),
        h.log("b1", "idle").stream().map(BuildHistory.LogLine::line).toList());
    assertEquals(before.targets().subList(0, 2),
        h.build("b1").orElseThrow().targets().subList(0, 2));
  }

  @Test
  void badLimitsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new BuildHistory(clock, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new BuildHistory(clock, 1, -1));
  }

  private static String describe(BuildEvent e) {
    StringBuilder s = new StringBuilder(e.kind().wireName());
    for (String part : new String[] {e.buildId(), EventFields.target(e), EventFields.status(e), EventFields.line(e)}) {
      if (part != null) {
        s.append(' ').append(part);
      }
    }
    if (e.kind() == BuildEvent.Kind.TARGET_STARTED || e.buildId() == null) {
      s.append(' ').append(EventFields.worker(e));
    }
    return s.toString();
  }

  private static BuildMetrics metrics() {
    return BuildMetrics.EMPTY;
  }

  static TargetOutcome outcome(String target, TargetOutcome.Status status) {
    return new TargetOutcome(target, status, "", "", 0, 1, Duration.ZERO, List.of(), List.of(),
        metrics());
  }

  static BuildResult result(String id, boolean success) {
    return new BuildResult(success, id, Duration.ZERO, List.of(), List.of(), List.of(), metrics(),
        List.of());
  }
}
