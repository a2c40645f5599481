package dev.buildnet.api.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.exec.OutputListener;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuildEventTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");

  private static TargetOutcome outcome(String target, TargetOutcome.Status status) {
    return new TargetOutcome(target, status, "", null, 0, 1, Duration.ZERO, List.of(), List.of(),
        BuildMetrics.EMPTY);
  }

  private static BuildResult result(String id, TargetOutcome... targets) {
    boolean ok = List.of(targets).stream().allMatch(t -> t.status().succeeded());
    return new BuildResult(ok, id, Duration.ZERO, List.of(), List.of(), List.of(),
        BuildMetrics.EMPTY, List.of(targets));
  }

  @Test
  void statusSpellings_areTheProtocolWords_andReadBack() {
    List<String> target = new ArrayList<>();
    for (TargetOutcome.Status s : TargetOutcome.Status.values()) {
      target.add(s.wireName());
      assertEquals(s, TargetOutcome.Status.ofWireName(s.wireName()));
    }
    assertEquals(List.of("built", "cached", "failed", "skipped", "cancelled"), target);
    List<String> build = new ArrayList<>();
    for (BuildStatus s : BuildStatus.values()) {
      build.add(s.wireName());
      assertEquals(s, BuildStatus.ofWireName(s.wireName()));
    }
    assertEquals(List.of("running", "succeeded", "failed", "cancelled"), build);
    assertNull(TargetOutcome.Status.ofWireName("BUILT"), "one spelling only");
    assertNull(BuildStatus.ofWireName("SUCCEEDED"));
  }

  @Test
  void kinds_haveTheEventKindsOfTheProtocol() {
    for (BuildEvent.Kind k : BuildEvent.Kind.values()) {
      assertEquals(k, BuildEvent.Kind.ofWireName(k.wireName()));
    }
    assertEquals("log", BuildEvent.Kind.LOG.wireName());
    assertNull(BuildEvent.Kind.ofWireName("LOG"));
  }

  @Test
  void buildStatus_ofAResult_isSucceededFailedOrCancelled() {
    assertEquals(BuildStatus.SUCCEEDED,
        BuildStatus.of(result("b", outcome("a", TargetOutcome.Status.CACHED))));
    assertEquals(BuildStatus.FAILED, BuildStatus.of(result("b",
        outcome("a", TargetOutcome.Status.FAILED), outcome("c", TargetOutcome.Status.SKIPPED))));
    assertEquals(BuildStatus.CANCELLED, BuildStatus.of(result("b",
        outcome("a", TargetOutcome.Status.BUILT), outcome("c", TargetOutcome.Status.CANCELLED))));
  }

  @Test
  void finishedEvents_carryTheStatusOfTheirOutcomeOrResult() {
    TargetOutcome o = outcome("lib", TargetOutcome.Status.BUILT);
    BuildEvent.TargetFinished t = BuildEvent.TargetFinished.of("b", AT, o);
    assertEquals(List.of("lib", "built"), List.of(t.target(), t.status().wireName()));
    assertThrows(IllegalArgumentException.class,
        () -> new BuildEvent.TargetFinished("b", AT, "lib", TargetOutcome.Status.FAILED, o));
    BuildEvent.BuildFinished f = BuildEvent.BuildFinished.of(AT, result("b", o));
    assertEquals(BuildStatus.SUCCEEDED, f.status());
    assertThrows(IllegalArgumentException.class,
        () -> new BuildEvent.BuildFinished("b", AT, BuildStatus.RUNNING, null));
  }

  @Test
  void defaultOnEvent_callsTheCallbacks_andSkipsEventsWithoutOne() {
    List<String> calls = new ArrayList<>();
    BuildListener l = new BuildListener() {
      @Override
      public void buildStarted(String buildId, List<String> targets) {
        calls.add("buildStarted " + buildId + " " + targets);
      }

      @Override
      public void targetStarted(String buildId, String target, int attempt) {
        calls.add("targetStarted " + target + " " + attempt);
      }

      @Override
      public void logLine(String buildId, String target, OutputListener.Stream stream,
          String line, boolean replayed) {
        calls.add("logLine " + target + " " + stream + " " + line + " " + replayed);
      }

      @Override
      public void targetFinished(String buildId, TargetOutcome outcome) {
        calls.add("targetFinished " + outcome.target() + " " + outcome.status());
      }

      @Override
      public void buildFinished(BuildResult result) {
        calls.add("buildFinished " + result.buildId());
      }
    };
    TargetOutcome o = outcome("lib", TargetOutcome.Status.BUILT);
    l.onEvent(new BuildEvent.BuildStarted("b", AT, List.of("lib")));
    l.onEvent(new BuildEvent.TargetWaiting("b", AT, "lib", "needs gpu"));
    l.onEvent(new BuildEvent.TargetStarted("b", AT, "lib", 2, "w1"));
    l.onEvent(new BuildEvent.TargetLog("b", AT, "lib", OutputListener.Stream.STDERR, "hi", true));
    l.onEvent(BuildEvent.TargetFinished.of("b", AT, o));
    l.onEvent(new BuildEvent.TargetFinished("b", AT, "x", TargetOutcome.Status.CACHED, null));
    l.onEvent(new BuildEvent.WorkerJoined(AT, "w1"));
    l.onEvent(BuildEvent.BuildFinished.of(AT, result("b", o)));
    l.onEvent(new BuildEvent.BuildFinished("b", AT, BuildStatus.FAILED, null));
    assertEquals(List.of("buildStarted b [lib]", "targetStarted lib 2",
        "logLine lib STDERR hi true", "targetFinished lib BUILT", "buildFinished b"), calls);
  }
}
