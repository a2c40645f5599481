package dev.buildnet.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * The token check. Both sides are hashed before {@link MessageDigest#isEqual} so that neither the
 * content nor the length of the token leaks through timing.
 */
final class Auth {
  private final byte[] tokenHash;
  private final boolean openReads;
  private final Tickets tickets;

  Auth(byte[] token, boolean openReads, Tickets tickets) {
    this.tokenHash = token == null ? null : sha256(token);
    this.openReads = openReads;
    this.tickets = tickets;
  }

  boolean openReads() {
    return openReads;
  }

  boolean hasToken() {
    return tokenHash != null;
  }

  /**
   * Whether the request carries the token: {@code Authorization: Bearer <token>}, Basic with the
   * token as password (Gradle and Bazel send Basic), or, on the event streams only (browsers'
   * EventSource and WebSocket cannot set headers), a {@code ticket} query parameter from
   * {@code POST /api/ticket}. The token itself is never accepted in a URL.
   */
  boolean authorized(Request request) {
    if (tokenHash == null) {
      return false;
    }
    if (request.getHeaders().get(HttpHeader.AUTHORIZATION) == null && isStream(request)) {
      String query = request.getHttpURI().getQuery();
      if (query != null && query.contains("ticket=")) {
        return tickets.redeem(Request.extractQueryParameters(request).getValue("ticket"));
      }
    }
    String presented = presented(request);
    return presented != null
        && MessageDigest.isEqual(tokenHash, sha256(presented.getBytes(StandardCharsets.UTF_8)));
  }

  private static String presented(Request request) {
    String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (h != null) {
      if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return h.substring(7).strip();
      }
      if (h.regionMatches(true, 0, "Basic ", 0, 6)) {
        try {
          String decoded = new String(Base64.getDecoder().decode(h.substring(6).strip()),
              StandardCharsets.UTF_8);
          int colon = decoded.indexOf(':');
          return colon < 0 ? null : decoded.substring(colon + 1);
        } catch (IllegalArgumentException e) {
          return null;
        }
      }
    }
    return null;
  }

  private static boolean isStream(Request request) {
    String path = Request.getPathInContext(request);
    return path.equals("/ws") || path.equals("/events");
  }

  private static byte[] sha256(byte[] bytes) {
    // Cloned: getInstance looks the algorithm up among the providers, a cost per request.
    return HttpCacheStore.newSha256().digest(bytes);
  }
}
