package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildnet.Watch;
import dev.buildnet.WatchListener;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A watch's cycles on the event streams: {@code watch_cycle} with the build id and what changed. */
class WatchCycleEventsTest {
  @Test
  void aWatchCycle_isAWatchCycleEvent_onTheWebSocketAndSse_withItsBuildId() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      EventsTest.Messages live = new EventsTest.Messages();
      WebSocket ws = EventsTest.connect(f, "", live);
      HttpResponse<InputStream> sse = f.client.send(HttpRequest.newBuilder(f.uri("/events"))
          .header("Authorization", "Bearer " + Fixture.TOKEN).build(),
          HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, sse.statusCode());
      try (Watch w = f.net.watch(List.of("app"), Duration.ZERO, new WatchListener() { })) {
        JsonNode cycle = live.await(n -> n.path("kind").asText().equals("watch_cycle"));
        assertEquals(1, cycle.get("cycle").asInt());
        String build = cycle.get("build").asText();
        assertFalse(build.isEmpty());
        assertEquals(List.of("lib", "app"), List.of(cycle.get("targets").get(0).asText(),
            cycle.get("targets").get(1).asText()));
        assertTrue(cycle.get("changed").isArray());
        assertEquals(0, cycle.get("changedCount").asInt());
        assertFalse(cycle.get("rescanned").asBoolean());
        live.await(n -> EventsTest.is(n, "build_started", build));
        live.await(n -> EventsTest.is(n, "build_finished", build));

        try (BufferedReader lines = new BufferedReader(
            new InputStreamReader(sse.body(), StandardCharsets.UTF_8))) {
          String line;
          boolean seen = false;
          while (!seen && (line = lines.readLine()) != null) {
            seen = line.startsWith("data:") && line.contains("\"kind\":\"watch_cycle\"")
                && line.contains("\"build\":\"" + build + "\"");
          }
          assertTrue(seen, "the SSE stream carried the watch_cycle event");
        }
      }
      ws.abort();
    }
  }
}
