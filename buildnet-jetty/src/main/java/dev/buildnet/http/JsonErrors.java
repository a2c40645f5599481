package dev.buildnet.http;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The errors Jetty answers itself, before a request reaches the routes (an ambiguous or malformed
 * URI such as {@code /cache/a%2Fb}, a handler that failed), in the API's JSON error body rather
 * than Jetty's HTML page: a client of the API parses one format for every error. The message is
 * Jetty's reason, capped like every error text; no stack or cause is shown.
 */
final class JsonErrors extends ErrorHandler {
  @Override
  protected void generateResponse(Request request, Response response, int status, String message,
      Throwable cause, Callback callback) {
    String reason = message == null || message.isBlank() ? "the request was refused" : message;
    Http.error(response, callback, status, code(status), Http.clip(reason), hint(status));
  }

  private static String code(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 413 -> "too_large";
      case 503 -> "not_accepting";
      default -> status >= 500 ? "internal" : "bad_request";
    };
  }

  private static String hint(int status) {
    return status >= 500 ? "see the server's log; retry if the failure looks transient"
        : "see docs/HTTP.md: a '/' in a key or a target name is sent as it is, not as %2F";
  }
}
