package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** What the dashboard's build rows, timeline and target page read from the API. */
class TargetDetailsApiTest {

  @Test
  void buildSummaryNamesItsTargets_andEachFinishedTargetHasADuration() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      String id = f.submit("app");
      assertEquals("succeeded", f.awaitFinished(id));
      JsonNode summary = Fixture.json(f.get("/api/builds")).get("builds").get(0);
      assertEquals("[\"lib\",\"app\"]", summary.get("targetNames").toString());
      assertEquals("[\"app\"]", summary.get("requested").toString());
      JsonNode origin = summary.get("origin");
      assertEquals("http", origin.get("kind").asText());
      assertTrue(origin.get("name").isNull(), origin.toString());
      assertTrue(origin.get("address").asText().matches("127\\.0\\.0\\.1:\\d+"), origin.toString());
      for (JsonNode t : Fixture.json(f.get("/api/builds/" + id)).get("targetList")) {
        assertTrue(t.get("durationMs").asLong() >= 0, t.toString());
        assertTrue(t.hasNonNull("startedAt") && t.hasNonNull("finishedAt"), t.toString());
      }
    }
  }

  @Test
  void aBuildTheHostSubmits_isFromTheApi_withTheTargetsItAskedFor() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      String id = f.net.build(java.util.List.of("app", "lib"), false).get().buildId();
      JsonNode summary = Fixture.json(f.get("/api/builds/" + id));
      assertEquals("[\"app\",\"lib\"]", summary.get("requested").toString());
      assertEquals("{\"kind\":\"api\",\"name\":null,\"address\":null}",
          summary.get("origin").toString());
    }
  }

  @Test
  void explain_saysNotBuiltBeforeTheFirstBuild_thenWhyItMissed() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      assertEquals(409, f.get("/api/targets/lib/explain").statusCode());
      assertEquals(404, f.get("/api/targets/nope/explain").statusCode());
      assertEquals("succeeded", f.awaitFinished(f.submit("lib")));
      JsonNode e = Fixture.json(f.get("/api/targets/lib/explain"));
      assertEquals("lib", e.get("target").asText());
      assertTrue(e.get("text").asText().startsWith("lib: cache miss (key " + e.get("key").asText()),
          e.toString());
      JsonNode lib = null;
      for (JsonNode t : Fixture.json(f.get("/api/targets")).get("targets")) {
        lib = t.get("name").asText().equals("lib") ? t : lib;
      }
      assertEquals("[\"lib.txt\"]", lib.get("outputs").toString());
    }
  }
}
