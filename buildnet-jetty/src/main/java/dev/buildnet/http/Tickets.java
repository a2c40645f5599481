package dev.buildnet.http;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Short-lived, single-use tickets for the event streams. Browsers' {@code WebSocket} and
 * {@code EventSource} cannot send an {@code Authorization} header, and a token in a URL ends up in
 * logs and history; so the page trades its token (in a header) for a ticket that opens one stream
 * within {@link #TTL} and is worthless afterwards.
 */
final class Tickets {
  static final Duration TTL = Duration.ofSeconds(30);
  /** Bounds the map when a client asks for tickets it never uses. */
  private static final int MAX_OUTSTANDING = 10_000;

  private final SecureRandom random = new SecureRandom();
  private final Map<String, Instant> outstanding = new ConcurrentHashMap<>();
  private final Clock clock;

  Tickets(Clock clock) {
    this.clock = clock;
  }

  /** A new ticket, valid for {@link #TTL}. */
  String issue() {
    Instant now = clock.instant();
    outstanding.values().removeIf(expiry -> !expiry.isAfter(now));
    if (outstanding.size() >= MAX_OUTSTANDING) {
      throw new HttpError(429, "too_many_tickets",
          "more than " + MAX_OUTSTANDING + " unused stream tickets are outstanding",
          "use each ticket to open a stream; they expire after " + TTL.toSeconds() + " s");
    }
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    String ticket = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    outstanding.put(ticket, now.plus(TTL));
    return ticket;
  }

  /** Whether {@code ticket} was issued, is unexpired and unused; it is used up either way. */
  boolean redeem(String ticket) {
    if (ticket == null) {
      return false;
    }
    Instant expiry = outstanding.remove(ticket);
    return expiry != null && clock.instant().isBefore(expiry);
  }
}
