package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.internal.protocol.Payloads.Event;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireEventsTest {
  private static final Instant AT = Instant.ofEpochMilli(1_767_225_600_123L);

  @Test
  void toWire_spellsKindsAndStatusesAsTheProtocol() {
    assertEquals(new Event("s", 1, "build_started", "b", AT.toEpochMilli(), null, null, null, null),
        WireEvents.toWire("s", 1, new BuildEvent.BuildStarted("b", AT, List.of("lib"))));
    assertEquals(new Event("s", 2, "target_started", "b", AT.toEpochMilli(), "lib", null, null, null),
        WireEvents.toWire("s", 2, new BuildEvent.TargetStarted("b", AT, "lib", 1, "w1")));
    assertEquals(new Event("s", 3, "log", "b", AT.toEpochMilli(), "lib", null, "stderr", "hi"),
        WireEvents.toWire("s", 3,
            new BuildEvent.TargetLog("b", AT, "lib", OutputListener.Stream.STDERR, "hi", false)));
    assertEquals(new Event("s", 4, "target_finished", "b", AT.toEpochMilli(), "lib", "cached", null, null),
        WireEvents.toWire("s", 4,
            new BuildEvent.TargetFinished("b", AT, "lib", TargetOutcome.Status.CACHED, null)));
    assertEquals(new Event("s", 5, "build_finished", "b", AT.toEpochMilli(), null, "cancelled", null, null),
        WireEvents.toWire("s", 5, new BuildEvent.BuildFinished("b", AT, BuildStatus.CANCELLED, null)));
  }

  @Test
  void toWire_leavesOutWhatEventDoesNotCarry() {
    assertNull(WireEvents.toWire("s", 1, new BuildEvent.WorkerJoined(AT, "w1")));
    assertNull(WireEvents.toWire("s", 1, new BuildEvent.WorkerLeft(AT, "w1")));
    assertNull(WireEvents.toWire("s", 1, new BuildEvent.TargetWaiting("b", AT, "lib", "gpu")));
  }

  @Test
  void fromWire_readsBackWhatTheWireCarries() {
    List<BuildEvent> events = List.of(
        new BuildEvent.BuildStarted("b", AT, List.of()),
        new BuildEvent.TargetStarted("b", AT, "lib", 0, null),
        new BuildEvent.TargetLog("b", AT, "lib", OutputListener.Stream.STDOUT, "x", false),
        new BuildEvent.TargetFinished("b", AT, "lib", TargetOutcome.Status.SKIPPED, null),
        new BuildEvent.BuildFinished("b", AT, BuildStatus.FAILED, null));
    for (BuildEvent e : events) {
      assertEquals(e, WireEvents.fromWire(WireEvents.toWire("s", 1, e)));
    }
  }

  @Test
  void fromWire_ignoresKindsAndStatusesItDoesNotKnow() {
    assertNull(WireEvents.fromWire(
        new Event("s", 1, "target_finished", "b", 0, "lib", "BUILT", null, null)));
    assertNull(WireEvents.fromWire(
        new Event("s", 1, "build_finished", "b", 0, null, "running", null, null)));
  }
}
