package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The browser's way onto the event streams: a single-use ticket, never the token in a URL. */
class StreamTicketTest {

  private static int openEvents(Fixture f, String query) throws Exception {
    HttpResponse<InputStream> r = f.client.send(f.request("/events" + query).GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    r.body().close();
    return r.statusCode();
  }

  @Test
  void ticketOpensOneStream_thenIsUsedUp() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      HttpResponse<String> t = f.postJson("/api/ticket", "");
      assertEquals(200, t.statusCode(), t.body());
      String ticket = Fixture.json(t).get("ticket").asText();
      assertTrue(ticket.length() >= 40, ticket);
      assertEquals(30, Fixture.json(t).get("expiresInSeconds").asInt());
      assertEquals(200, openEvents(f, "?replay=false&ticket=" + ticket));
      assertEquals(401, openEvents(f, "?replay=false&ticket=" + ticket));
      assertEquals(401, openEvents(f, "?replay=false&ticket=made-up"));
    }
  }

  /** A clock the test moves by hand. */
  static final class SteppedClock extends java.time.Clock {
    volatile java.time.Instant now = java.time.Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public java.time.Instant instant() {
      return now;
    }
  }

  @Test
  void ticket_expiresAfterThirtySeconds() throws Exception {
    SteppedClock clock = new SteppedClock();
    try (Fixture f = new Fixture(h -> h.token(Fixture.TOKEN).clock(clock))) {
      String late = Fixture.json(f.postJson("/api/ticket", "")).get("ticket").asText();
      String onTime = Fixture.json(f.postJson("/api/ticket", "")).get("ticket").asText();
      clock.now = clock.now.plusSeconds(29);
      assertEquals(200, openEvents(f, "?replay=false&ticket=" + onTime));
      clock.now = clock.now.plusSeconds(1);
      assertEquals(401, openEvents(f, "?replay=false&ticket=" + late));
    }
  }

  @Test
  void tokenInTheUrl_isRefused() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      assertEquals(401, openEvents(f, "?replay=false&access_token=" + Fixture.TOKEN));
    }
  }

  @Test
  void ticket_opensNothingButTheStreams_andNeedsTheToken() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      String ticket = Fixture.json(f.postJson("/api/ticket", "")).get("ticket").asText();
      assertEquals(401, f.send(f.request("/api/workers?ticket=" + ticket).GET()).statusCode());
      assertEquals(401, f.send(f.request("/api/ticket?ticket=" + ticket)
          .POST(java.net.http.HttpRequest.BodyPublishers.noBody())).statusCode());
      assertEquals(401, f.send(f.request("/api/ticket")
          .POST(java.net.http.HttpRequest.BodyPublishers.noBody())).statusCode());
    }
  }
}
