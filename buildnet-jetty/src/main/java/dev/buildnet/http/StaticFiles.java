package dev.buildnet.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The dashboard: a few files shipped in the jar, read once into memory. Nothing is fetched from
 * elsewhere; a Content-Security-Policy keeps it so.
 */
final class StaticFiles {
  private static final String ROOT = "/dev/buildnet/http/dashboard/";
  private static final String[] FILES = {"index.html", "app.js", "app.css"};
  private static final String CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
      + "frame-ancestors 'none'";

  private StaticFiles() {}

  static Handler dashboard() {
    Map<String, byte[]> files = new HashMap<>();
    for (String f : FILES) {
      try (InputStream in = StaticFiles.class.getResourceAsStream(ROOT + f)) {
        if (in == null) {
          throw new IllegalStateException("dashboard file " + ROOT + f + " is missing from the jar");
        }
        files.put(f, in.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
          return notFound(request, response, callback, path);
        }
        String name = path.equals("/") ? "index.html"
            : path.startsWith("/dashboard/") ? path.substring("/dashboard/".length()) : null;
        byte[] body = name == null ? null : files.get(name);
        if (body == null) {
          return notFound(request, response, callback, path);
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type(name));
        response.getHeaders().put("Content-Security-Policy", CSP);
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.write(true, HttpMethod.HEAD.is(request.getMethod()) ? null : ByteBuffer.wrap(body),
            callback);
        return true;
      }
    };
  }

  private static boolean notFound(Request request, Response response, Callback callback, String path) {
    Http.error(response, callback, 404, "not_found",
        "no such endpoint: " + request.getMethod() + " " + Http.clip(path),
        "the dashboard is GET / and its files under /dashboard/");
    return true;
  }

  private static String type(String name) {
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    return "text/css; charset=utf-8";
  }
}
