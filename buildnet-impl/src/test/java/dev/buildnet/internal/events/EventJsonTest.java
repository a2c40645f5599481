package dev.buildnet.internal.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventJsonTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00.123Z");

  @Test
  void toJson_isTheDocumentedShape() {
    assertEquals("{\"kind\":\"target_started\",\"at\":\"2026-01-01T00:00:00.123Z\","
        + "\"buildId\":\"b-3\",\"target\":\"lib\",\"worker\":\"w1\",\"attempt\":1}",
        EventJson.toJson(new BuildEvent.TargetStarted("b-3", AT, "lib", 1, "w1")).toString());
    assertEquals("{\"kind\":\"target_finished\",\"at\":\"2026-01-01T00:00:00.123Z\","
        + "\"buildId\":\"b-3\",\"target\":\"lib\",\"status\":\"built\"}",
        EventJson.toJson(new BuildEvent.TargetFinished("b-3", AT, "lib",
            TargetOutcome.Status.BUILT, null)).toString());
    assertEquals("{\"kind\":\"worker_joined\",\"at\":\"2026-01-01T00:00:00.123Z\",\"worker\":\"w1\"}",
        EventJson.toJson(new BuildEvent.WorkerJoined(AT, "w1")).toString());
  }

  @Test
  void everyKind_readsBackAsTheSameEvent() {
    List<BuildEvent> events = List.of(
        new BuildEvent.BuildStarted("b", AT, List.of("lib", "app")),
        new BuildEvent.BuildStarted("b", AT, List.of("lib", "app"), List.of("app"),
            BuildOrigin.client("ci-7", "10.0.0.5:40412")),
        new BuildEvent.BuildStarted("b", AT, List.of("lib"), List.of("lib"), BuildOrigin.api()),
        new BuildEvent.TargetStarted("b", AT, "lib", 2, null),
        new BuildEvent.TargetWaiting("b", AT, "lib", "no worker has gpu"),
        new BuildEvent.TargetLog("b", AT, "lib", OutputListener.Stream.STDERR, "ünused ✓", false),
        new BuildEvent.TargetFinished("b", AT, "lib", TargetOutcome.Status.CANCELLED, null),
        new BuildEvent.BuildFinished("b", AT, BuildStatus.SUCCEEDED, null),
        new BuildEvent.WorkerJoined(AT, "w1"),
        new BuildEvent.WorkerLeft(AT, "w1"));
    for (BuildEvent e : events) {
      assertEquals(e, EventJson.fromJson(EventJson.toJson(e)), e.kind().wireName());
    }
  }

  @Test
  void fromJson_refusesOtherSpellingsAndMissingFields() throws Exception {
    // The pre-0.3 peer-event form: upper-case kind and status.
    assertNull(EventJson.fromJson(JSON.readTree("{\"master\":\"a\",\"kind\":\"TARGET_FINISHED\","
        + "\"buildId\":\"b\",\"target\":\"lib\",\"status\":\"BUILT\",\"atMillis\":1}")));
    assertNull(EventJson.fromJson(JSON.readTree("{\"kind\":\"target_finished\","
        + "\"at\":\"2026-01-01T00:00:00Z\",\"buildId\":\"b\",\"status\":\"built\"}")));
    assertNull(EventJson.fromJson(JSON.readTree("{\"kind\":\"build_finished\","
        + "\"at\":\"yesterday\",\"buildId\":\"b\",\"status\":\"failed\"}")));
    assertNull(EventJson.fromJson(JSON.readTree("[1]")));
  }
}
