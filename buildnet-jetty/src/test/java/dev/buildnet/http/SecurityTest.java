package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurityTest {
  Fixture f;

  @BeforeAll
  void start() throws Exception {
    f = new Fixture(b -> b.token(Fixture.TOKEN).maxBodyBytes(1024)
        .corsOrigins("https://ci.example"));
  }

  @AfterAll
  void stop() throws Exception {
    f.close();
  }

  private HttpResponse<String> postBuild(HttpRequest.Builder r) throws Exception {
    return f.send(r.header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"targets\":[\"lib\"]}")));
  }

  @Test
  void bindsToLoopbackByDefault() {
    assertEquals("127.0.0.1", f.http.uri().getHost());
  }

  @Test
  void mutation_withoutToken_is401() throws Exception {
    HttpResponse<String> r = postBuild(f.request("/api/builds"));
    assertEquals(401, r.statusCode());
    assertEquals("unauthorized", Fixture.json(r).get("code").asText());
    assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
  }

  @Test
  void mutation_withWrongToken_is401() throws Exception {
    assertEquals(401, postBuild(f.request("/api/builds")
        .header("Authorization", "Bearer " + Fixture.TOKEN + "x")).statusCode());
    assertEquals(401, postBuild(f.request("/api/builds")
        .header("Authorization", "Bearer short")).statusCode());
  }

  @Test
  void reads_needTheTokenUnlessOpened() throws Exception {
    assertEquals(401, f.send(f.request("/api/builds").GET()).statusCode());
    assertEquals(401, f.send(f.request("/metrics").GET()).statusCode());
    assertEquals(200, f.send(f.request("/health").GET()).statusCode());
    assertEquals(200, f.send(f.request("/").GET()).statusCode());
    try (Fixture open = new Fixture(b -> b.token(Fixture.TOKEN).openReads(true))) {
      assertEquals(200, open.send(open.request("/api/builds").GET()).statusCode());
      assertEquals(401, postBuild(open.request("/api/builds")).statusCode());
    }
  }

  @Test
  void withoutAToken_mutationsAreRefused403() throws Exception {
    try (Fixture readOnly = new Fixture(b -> b.openReads(true))) {
      HttpResponse<String> r = postBuild(readOnly.request("/api/builds"));
      assertEquals(403, r.statusCode());
      assertEquals("read_only", Fixture.json(r).get("code").asText());
    }
  }

  @Test
  void neitherTokenNorOpenReads_isRejectedAtStart() throws Exception {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> new Fixture(b -> { }).close());
    assertTrue(e.getMessage().contains("token"));
  }

  @Test
  void foreignHostHeader_is421() throws Exception {
    try (RawHttp raw = new RawHttp(f.http.port())) {
      RawHttp.Reply r = raw.send("GET /health HTTP/1.1\r\nHost: evil.example:" + f.http.port()
          + "\r\n\r\n");
      assertEquals(421, r.status());
      assertTrue(r.body().contains("host_not_allowed"), r.body());
      // The same connection, with a proper Host, works.
      assertEquals(200, raw.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").status());
    }
  }

  @Test
  void aRequestJettyRefusesBeforeRouting_getsTheJsonErrorBody() throws Exception {
    for (String target : new String[] {"/cache/a%2Fb", "/cache/a%00b", "/api/builds/..%2F..%2Fetc"}) {
      try (RawHttp raw = new RawHttp(f.http.port())) {
        RawHttp.Reply r = raw.send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n"
            + "Authorization: Bearer " + Fixture.TOKEN + "\r\n\r\n");
        assertEquals(400, r.status(), target + ": " + r.headers() + r.body());
        assertEquals("application/json", r.header("Content-Type"), target + ": " + r.headers());
        assertTrue(r.body().contains("\"code\":\"bad_request\""), target + ": " + r.body());
      }
    }
  }

  @Test
  void tooLargeBody_is413_declaredOrChunked() throws Exception {
    String big = "{\"targets\":[\"" + "x".repeat(2000) + "\"]}";
    HttpResponse<String> r = f.send(f.authed("/api/builds")
        .POST(HttpRequest.BodyPublishers.ofString(big)));
    assertEquals(413, r.statusCode());
    assertEquals("too_large", Fixture.json(r).get("code").asText());
    HttpResponse<String> chunked = f.send(f.authed("/api/builds").POST(
        HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big.getBytes()))));
    assertEquals(413, chunked.statusCode());
  }

  @Test
  void noCorsHeaders_forOriginsNotConfigured() throws Exception {
    HttpResponse<String> r = f.send(f.authed("/api/builds").header("Origin", "https://evil.example").GET());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Access-Control-Allow-Origin").isEmpty());
    try (Fixture plain = Fixture.withToken()) {
      HttpResponse<String> p = plain.send(plain.authed("/api/builds").header("Origin", "https://ci.example").GET());
      assertTrue(p.headers().firstValue("Access-Control-Allow-Origin").isEmpty());
      HttpResponse<String> pre = plain.send(plain.request("/api/builds").header("Origin", "https://ci.example")
          .header("Access-Control-Request-Method", "POST").method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
      assertFalse(pre.headers().firstValue("Access-Control-Allow-Origin").isPresent());
    }
  }

  @Test
  void cors_forAConfiguredOrigin() throws Exception {
    HttpResponse<String> r = f.send(f.authed("/api/builds").header("Origin", "https://ci.example").GET());
    assertEquals("https://ci.example", r.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
    HttpResponse<String> pre = f.send(f.request("/api/builds").header("Origin", "https://ci.example")
        .header("Access-Control-Request-Method", "POST").method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertEquals(200, pre.statusCode()); // Jetty's CrossOriginHandler answers preflights with 200
    assertTrue(pre.headers().firstValue("Access-Control-Allow-Methods").orElse("").contains("POST"));
  }

  @Test
  void cors_preflightsFromOtherOrigins_meetTheTokenCheck_andWrongHostsAreRefusedFirst() throws Exception {
    HttpResponse<String> evil = f.send(f.request("/api/builds").header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST").method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertEquals(401, evil.statusCode());
    assertTrue(evil.headers().firstValue("Access-Control-Allow-Origin").isEmpty());
    try (RawHttp raw = new RawHttp(f.http.port())) {
      RawHttp.Reply r = raw.send("OPTIONS /api/builds HTTP/1.1\r\nHost: evil.example\r\n"
          + "Origin: https://ci.example\r\nAccess-Control-Request-Method: POST\r\n\r\n");
      assertEquals(421, r.status(), r.body());
    }
  }

  @Test
  void cachePut_withoutToken_is401() throws Exception {
    HttpResponse<String> r = f.send(f.request("/cache/abc123")
        .PUT(HttpRequest.BodyPublishers.ofString("x")));
    assertEquals(401, r.statusCode());
  }
}
