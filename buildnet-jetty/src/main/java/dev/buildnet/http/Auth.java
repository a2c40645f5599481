package dev.buildnet.http;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * The token check, in constant time: {@link #matches} looks at every presented byte whatever it
 * finds, so its time depends on the presented length only (which the client knows), never on
 * the token's content or length. It hashes nothing and allocates nothing for a Bearer token, so
 * that an authenticated cache hit pays for it no more than a few dozen nanoseconds.
 */
final class Auth {
  /** The token's bytes (UTF-8), or null without one. */
  private final byte[] token;
  private final boolean openReads;
  private final Tickets tickets;

  Auth(byte[] token, boolean openReads, Tickets tickets) {
    this.token = token == null ? null : token.clone();
    this.openReads = openReads;
    this.tickets = tickets;
  }

  boolean openReads() {
    return openReads;
  }

  boolean hasToken() {
    return token != null;
  }

  /**
   * Whether the request carries the token: {@code Authorization: Bearer <token>}, Basic with the
   * token as password (Gradle and Bazel send Basic), or, on the event streams only (browsers'
   * EventSource and WebSocket cannot set headers), a {@code ticket} query parameter from
   * {@code POST /api/ticket}. The token itself is never accepted in a URL.
   */
  boolean authorized(Request request) {
    if (token == null) {
      return false;
    }
    if (request.getHeaders().get(HttpHeader.AUTHORIZATION) == null && isStream(request)) {
      String query = request.getHttpURI().getQuery();
      if (query != null && query.contains("ticket=")) {
        return tickets.redeem(Request.extractQueryParameters(request).getValue("ticket"));
      }
    }
    String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (h == null) {
      return false;
    }
    if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      int from = 7;
      int to = h.length();
      while (from < to && h.charAt(from) <= ' ') {
        from++;
      }
      while (to > from && h.charAt(to - 1) <= ' ') {
        to--;
      }
      return matches(h, from, to, token);
    }
    if (h.regionMatches(true, 0, "Basic ", 0, 6)) {
      String password = basicPassword(h);
      return password != null && matches(password, 0, password.length(), token);
    }
    return false;
  }

  /** The password of a Basic credential (Gradle and Bazel send the token so), or null. */
  private static String basicPassword(String h) {
    try {
      String decoded = new String(Base64.getDecoder().decode(h.substring(6).strip()),
          StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return colon < 0 ? null : decoded.substring(colon + 1);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * Whether {@code s[from, to)}, as UTF-8, is exactly {@code token}: every char is looked at and
   * compared with a token byte (cycling through the token when the text is longer), whatever the
   * differences found so far, so the time taken depends on {@code to - from} only. A text that is
   * not pure ASCII is encoded first (the token file may hold any bytes).
   */
  static boolean matches(String s, int from, int to, byte[] token) {
    if (token.length == 0) {
      return from == to;
    }
    int diff = 0;
    int n = to - from;
    boolean ascii = true;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(from + i);
      ascii &= c < 0x80;
      diff |= c ^ (token[i % token.length] & 0xff);
    }
    if (!ascii) {
      byte[] utf8 = s.substring(from, to).getBytes(StandardCharsets.UTF_8);
      diff = utf8.length ^ token.length;
      for (int i = 0; i < utf8.length; i++) {
        diff |= (utf8[i] ^ token[i % token.length]) & 0xff;
      }
      return diff == 0;
    }
    return (diff | (n ^ token.length)) == 0;
  }

  private static boolean isStream(Request request) {
    String path = Request.getPathInContext(request);
    return path.equals("/ws") || path.equals("/events");
  }
}
