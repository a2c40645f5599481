package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ReadinessTest {
  @Test
  void ready_is503OnceTheEngineStopsAcceptingWork() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      assertEquals(200, f.send(f.request("/ready").GET()).statusCode());
      f.net.drain();
      assertEquals(503, f.send(f.request("/ready").GET()).statusCode());
      assertEquals(200, f.send(f.request("/health").GET()).statusCode());
      assertEquals("not_accepting",
          Fixture.json(f.postJson("/api/builds", "{\"targets\":[\"lib\"]}")).get("code").asText());
    }
  }
}
