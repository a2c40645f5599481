package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiTest {
  Fixture f;

  @BeforeAll
  void start() throws Exception {
    f = Fixture.withToken();
  }

  @AfterAll
  void stop() throws Exception {
    f.close();
  }

  @Test
  void submittedBuild_isListedWithTargetsTimingsMetricsAndLogs() throws Exception {
    String id = f.submit("app");
    assertEquals("succeeded", f.awaitFinished(id));

    JsonNode list = Fixture.json(f.get("/api/builds"));
    JsonNode first = list.get("builds").get(0);
    assertEquals(id, first.get("id").asText());
    assertEquals(1.0, first.get("progress").asDouble());

    JsonNode b = Fixture.json(f.get("/api/builds/" + id));
    assertEquals("succeeded", b.get("status").asText());
    assertEquals(2, b.get("targetList").size());
    assertEquals("lib", b.get("targetList").get(0).get("name").asText());
    assertTrue(b.get("targetList").get(1).get("status").asText().matches("built|cached"));
    assertTrue(b.get("metrics").has("totalMs"), b.toString());
    assertTrue(b.get("metrics").get("cache").has("hitRatio"));

    JsonNode log = Fixture.json(f.get("/api/builds/" + id + "/targets/lib/log"));
    assertTrue(log.get("lines").toString().contains("hi from lib"), log.toString());
  }

  @Test
  void unknownTarget_is400WithErrorCodeAndHint() throws Exception {
    HttpResponse<String> r = f.postJson("/api/builds", "{\"targets\":[\"nope\"]}");
    assertEquals(400, r.statusCode());
    JsonNode e = Fixture.json(r);
    assertEquals("unknown_target", e.get("code").asText());
    assertTrue(e.get("error").asText().contains("nope"));
    assertTrue(e.has("hint"));
  }

  @Test
  void badJson_is400WithErrorCodeAndHint() throws Exception {
    HttpResponse<String> r = f.postJson("/api/builds", "{\"targets\": [");
    assertEquals(400, r.statusCode());
    JsonNode e = Fixture.json(r);
    assertEquals("bad_request", e.get("code").asText());
    assertFalse(e.get("hint").asText().isEmpty());
    assertEquals(400, f.postJson("/api/builds", "[1,2]").statusCode());
    assertEquals(400, f.postJson("/api/builds", "{\"targets\": []}").statusCode());
  }

  @Test
  void cancel_stopsARunningBuild() throws Exception {
    String id = f.submit("slow");
    HttpResponse<String> r = f.postJson("/api/builds/" + id + "/cancel", "");
    assertEquals(202, r.statusCode(), r.body());
    assertEquals("cancelled", f.awaitFinished(id));
    assertEquals(409, f.postJson("/api/builds/" + id + "/cancel", "").statusCode());
  }

  @Test
  void unknownBuildAndEndpoint_are404() throws Exception {
    assertEquals("not_found", Fixture.json(f.get("/api/builds/nope")).get("code").asText());
    assertEquals(404, f.get("/api/nothing").statusCode());
    assertEquals(404, f.get("/nothing").statusCode());
  }

  @Test
  void state_setGetDelete() throws Exception {
    HttpResponse<String> put = f.send(f.authed("/api/state/team/color")
        .PUT(HttpRequest.BodyPublishers.ofString("{\"value\":\"blue\"}")));
    assertEquals(200, put.statusCode(), put.body());
    assertEquals("blue", Fixture.json(f.get("/api/state/team/color")).get("value").asText());
    assertTrue(Fixture.json(f.get("/api/state?prefix=team/")).get("keys").toString()
        .contains("team/color"));
    HttpResponse<String> del = f.send(f.authed("/api/state/team/color").DELETE());
    assertTrue(Fixture.json(del).get("deleted").asBoolean());
    assertEquals(404, f.get("/api/state/team/color").statusCode());
  }

  @Test
  void locks_acquireConflictRenewRelease() throws Exception {
    JsonNode l = Fixture.json(f.postJson("/api/locks/deploy", "{\"owner\":\"a\",\"ttlSeconds\":30}"));
    long token = l.get("fencingToken").asLong();
    HttpResponse<String> held = f.postJson("/api/locks/deploy", "{\"owner\":\"b\",\"ttlSeconds\":30}");
    assertEquals(409, held.statusCode());
    assertEquals("lock_held", Fixture.json(held).get("code").asText());
    String mine = "{\"owner\":\"a\",\"fencingToken\":" + token + ",\"ttlSeconds\":30}";
    assertEquals(200, f.postJson("/api/locks/deploy/renew", mine).statusCode());
    assertEquals(200, f.postJson("/api/locks/deploy/release", mine).statusCode());
    assertEquals("lock_not_held",
        Fixture.json(f.postJson("/api/locks/deploy/release", mine)).get("code").asText());
  }

  @Test
  void locks_anEmptyNameIs400() throws Exception {
    HttpResponse<String> r = f.postJson("/api/locks//acquire", "{\"owner\":\"a\",\"ttlSeconds\":30}");
    assertEquals(400, r.statusCode(), r.body());
  }

  @Test
  void workers_andDrainOfAnUnknownWorker() throws Exception {
    JsonNode w = Fixture.json(f.get("/api/workers"));
    assertEquals(0, w.get("workers").size());
    assertTrue(w.get("localCapabilities").toString().contains("linux"));
    assertEquals(404, f.postJson("/api/workers/w1/drain", "").statusCode());
  }

  @Test
  void metrics_arePrometheusText() throws Exception {
    String id = f.submit("lib");
    f.awaitFinished(id);
    HttpResponse<String> r = f.get("/metrics");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
    String m = r.body();
    for (String series : new String[] {"buildnet_builds_started_total ", "buildnet_targets_total{outcome=\"cached\"}",
        "buildnet_cache_hits_total", "buildnet_cache_bytes", "buildnet_queue_length", "buildnet_workers",
        "buildnet_dispatch_latency_seconds{quantile=\"0.99\"}"}) {
      assertTrue(m.contains(series), series + " missing from\n" + m);
    }
    assertTrue(value(m, "buildnet_builds_started_total") >= 1, m);
    assertTrue(value(m, "buildnet_targets_total{outcome=\"built\"}")
        + value(m, "buildnet_targets_total{outcome=\"cached\"}") >= 1, m);
    assertTrue(m.contains("# TYPE buildnet_dispatch_latency_seconds summary\n"), m);
    assertTrue(m.contains("buildnet_dispatch_latency_seconds_count "), m);
    // Micrometer's JVM and Jetty meters come with it.
    for (String series : new String[] {"jvm_memory_used_bytes{", "jvm_threads_live_threads ",
        "jetty_threads_busy ", "jetty_connections_current_connections{connector_name=\"http\"}"}) {
      assertTrue(m.contains(series), series + " missing from\n" + m);
    }
  }

  /** The value of the sample named exactly {@code series} (name and labels) in Prometheus text. */
  static double value(String metrics, String series) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).strip());
      }
    }
    throw new AssertionError(series + " missing from\n" + metrics);
  }

  @Test
  void cacheStatistics() throws Exception {
    JsonNode c = Fixture.json(f.get("/api/cache"));
    assertTrue(c.get("actionCache").has("hitRatio"));
    assertTrue(c.get("httpCache").has("bytes"));
  }

  @Test
  void health_isFixedAndOpen() throws Exception {
    HttpResponse<String> r = f.send(f.request("/health").GET());
    assertEquals(200, r.statusCode());
    assertEquals("ok\n", r.body());
    for (int i = 0; i < 3; i++) {
      assertEquals("ok\n", f.send(f.request("/health").GET()).body()); // the reused buffer
    }
    assertEquals(200, f.send(f.request("/ready").GET()).statusCode());
  }

  /**
   * Regression: Jetty empties the body buffer of a HEAD's write (limit 0) rather than consuming
   * it, and the reused buffer was only rewound, so every later GET answered on that thread
   * wrote nothing and failed with 500 ("written 0 < 3 content-length"). On one keep-alive
   * connection all three are answered on the same thread.
   */
  @Test
  void health_afterHead_stillAnswersOk() throws Exception {
    try (RawHttp c = new RawHttp(f.http.port())) {
      String host = "Host: 127.0.0.1\r\n";
      RawHttp.Reply head = c.exchange("HEAD /health HTTP/1.1\r\n" + host + "\r\n", new byte[0], true);
      assertEquals(200, head.status());
      assertEquals("3", head.header("Content-Length"));
      for (int i = 0; i < 2; i++) {
        RawHttp.Reply get = c.exchange("GET /health HTTP/1.1\r\n" + host + "\r\n", new byte[0], false);
        assertEquals(200, get.status(), get.body());
        assertEquals("ok\n", get.body());
      }
    }
  }

  @Test
  void probes_refuseMethodsThatWrite_with405() throws Exception {
    for (String path : List.of("/health", "/ready")) {
      for (String method : List.of("PUT", "POST", "DELETE")) {
        HttpResponse<String> r = f.send(f.authed(path) // with the token: past the write guard
            .method(method, HttpRequest.BodyPublishers.ofString("x")));
        assertEquals(405, r.statusCode(), method + " " + path + ": " + r.body());
        assertEquals("method_not_allowed", Fixture.json(r).get("code").asText(), r.body());
      }
      assertEquals(200, f.send(f.request(path)
          .method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode(), "HEAD " + path);
    }
  }
}
