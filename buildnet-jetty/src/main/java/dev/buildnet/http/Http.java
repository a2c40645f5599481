package dev.buildnet.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Response and request helpers shared by the handlers. */
final class Http {
  private static final Logger log = LoggerFactory.getLogger(Http.class);

  /** Thread-safe once configured; never reconfigured. */
  static final ObjectMapper JSON = new ObjectMapper();

  static final String JSON_TYPE = "application/json";

  private Http() {}

  /** A handler body that may throw {@link HttpError}. */
  interface Body {
    void run() throws Exception;
  }

  /** Runs {@code body}, turning an {@link HttpError} or an unexpected failure into a response. */
  static boolean handled(Response response, Callback callback, Body body) {
    try {
      body.run();
    } catch (HttpError e) {
      error(response, callback, e.status, e.code, e.getMessage(), e.hint);
    } catch (Exception e) {
      log.warn("HTTP handler failed", e);
      error(response, callback, 500, "internal", "the server failed: " + describe(e),
          "see the server's log; retry if the failure looks transient");
    }
    return true;
  }

  static void json(Response response, Callback callback, int status, Object body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      callback.failed(e);
      return;
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, JSON_TYPE);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  static void error(
      Response response, Callback callback, int status, String code, String message, String hint) {
    if (response.isCommitted()) {
      callback.failed(new IOException(code + ": " + message));
      return;
    }
    ObjectNode n = JSON.createObjectNode();
    n.put("error", capped(message));
    n.put("code", code);
    n.put("hint", capped(hint));
    json(response, callback, status, n);
  }

  /** A backstop for messages built from several clipped inputs (and for any that were not). */
  private static String capped(String s) {
    return s == null || s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE) + "…";
  }

  static HttpError badRequest(String message, String hint) {
    return new HttpError(400, "bad_request", message, hint);
  }

  static HttpError notFound(String message, String hint) {
    return new HttpError(404, "not_found", message, hint);
  }

  static HttpError methodNotAllowed(Request request, String allowed) {
    return new HttpError(405, "method_not_allowed",
        request.getMethod() + " is not allowed on " + clip(Request.getPathInContext(request)),
        "use " + allowed);
  }

  static HttpError tooLarge(long limit) {
    return new HttpError(413, "too_large", "the request body is larger than " + limit + " bytes",
        "send a smaller body, or raise the server's limit");
  }

  /**
   * How much of a refused body the server still reads: a client that is still sending when the
   * server answers and closes may get a connection reset instead of the 413, so a body a little
   * over the limit is read (and dropped) first. Bigger ones are cut off; clients that send them
   * should use {@code Expect: 100-continue}.
   */
  static final long DRAIN_BYTES = 1 << 20;

  /** The most of any client input an error message repeats. */
  static final int CLIP = 120;

  /** Caps on a whole error message and hint, which may quote several inputs. */
  private static final int MAX_MESSAGE = 1024;

  /**
   * {@code input} cut to {@link #CLIP} characters (with its length), for error messages and log
   * lines: an answer never echoes an unbounded input back, nor fills a log with it.
   */
  static String clip(String input) {
    if (input == null || input.length() <= CLIP) {
      return input;
    }
    return input.substring(0, CLIP) + "…(" + input.length() + " characters)";
  }

  /** A failure as one line: its type and message, clipped; causes only when it has no message. */
  static String describe(Throwable t) {
    Throwable shown = t;
    while (shown.getMessage() == null && shown.getCause() != null) {
      shown = shown.getCause();
    }
    String m = shown.getMessage();
    return shown.getClass().getSimpleName() + (m == null ? "" : ": " + clip(m.replace('\n', ' ')));
  }

  /** {@code bytes} (a request body) as a JSON object (400 with a hint otherwise). */
  static JsonNode jsonBody(byte[] bytes) throws IOException {
    if (bytes.length == 0) {
      return JSON.createObjectNode();
    }
    try {
      JsonNode n = JSON.readTree(bytes);
      if (n == null || !n.isObject()) {
        throw badRequest("the body must be a JSON object", "send e.g. {\"targets\": [\"app\"]}");
      }
      return n;
    } catch (JsonProcessingException e) {
      throw badRequest("the body is not valid JSON: " + clip(e.getOriginalMessage()),
          "send a JSON object with Content-Type: application/json");
    }
  }
}
