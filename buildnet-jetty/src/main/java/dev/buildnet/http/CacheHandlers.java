package dev.buildnet.http;

import dev.buildnet.cache.DigestMismatchException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Gradle's HTTP build cache ({@code GET/PUT /cache/{key}}) and Bazel's HTTP remote cache
 * ({@code GET/PUT/HEAD /ac/{hash}} and {@code /cas/{sha256}}) over one {@link HttpCacheStore}.
 * Bodies stream to and from disk on the request thread (blocking), never whole in memory.
 */
final class CacheHandlers {
  private CacheHandlers() {}

  /** Keys are path segments: letters, digits, '.', '_' and '-', at most 256 (no '..'). */
  static boolean validKey(String key) {
    if (key.isEmpty() || key.length() > 256 || key.startsWith(".")) {
      return false;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (!(Character.isLetterOrDigit(c) && c < 128) && c != '.' && c != '_' && c != '-') {
        return false;
      }
    }
    return true;
  }

  static boolean sha256Hex(String s) {
    if (s.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /** {@code /cache/{key}}: Gradle. */
  static Handler gradle(HttpCacheStore store) {
    return new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        return Http.handled(response, callback, () -> {
          String key = Request.getPathInContext(request).substring("/cache/".length());
          if (!validKey(key)) {
            throw Http.badRequest("cache key '" + key + "' is not a plain name",
                "Gradle sends hex keys; use letters, digits, '.', '_' or '-'");
          }
          String method = request.getMethod();
          if (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method)) {
            send(request, response, callback, store.get("gradle", key), store,
                "application/vnd.gradle.build-cache-artifact.v2");
          } else if (HttpMethod.PUT.is(method)) {
            receive(request, store, in -> store.put("gradle", key, in));
            response.setStatus(201);
            callback.succeeded();
          } else {
            throw Http.methodNotAllowed(request, "GET, HEAD or PUT");
          }
        });
      }
    };
  }

  /** {@code /ac/{hash}} and {@code /cas/{sha256}}: Bazel. */
  static Handler bazel(HttpCacheStore store, boolean cas) {
    String prefix = cas ? "/cas/" : "/ac/";
    return new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        return Http.handled(response, callback, () -> {
          String hash = Request.getPathInContext(request).substring(prefix.length());
          if (!sha256Hex(hash)) {
            throw Http.badRequest("'" + hash + "' is not a SHA-256 in lowercase hex",
                "Bazel addresses " + prefix + " entries by 64 lowercase hex digits");
          }
          String method = request.getMethod();
          if (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method)) {
            Optional<HttpCacheStore.Entry> e = cas
                ? (HttpMethod.HEAD.is(method) ? headBlob(store, hash) : store.getBlob(HttpCacheStore.sha256(hash)))
                : store.get("ac", hash);
            send(request, response, callback, e, store, "application/octet-stream");
          } else if (HttpMethod.PUT.is(method)) {
            try {
              receive(request, store, in -> {
                if (cas) {
                  store.putBlob(HttpCacheStore.sha256(hash), in);
                } else {
                  store.put("ac", hash, in);
                }
              });
            } catch (DigestMismatchException e) {
              store.rejected.incrementAndGet();
              throw new HttpError(400, "digest_mismatch",
                  "the body hashes to " + e.actual() + ", not to the sha256:" + hash + " it was PUT as",
                  "PUT a CAS blob under the SHA-256 of its bytes");
            }
            response.setStatus(200);
            callback.succeeded();
          } else {
            throw Http.methodNotAllowed(request, "GET, HEAD or PUT");
          }
        });
      }
    };
  }

  /** Stores a PUT body. */
  private interface Upload {
    void from(InputStream body) throws IOException;
  }

  /** Streams the request body into {@code upload}, with the store's entry size limit (413). */
  private static void receive(Request request, HttpCacheStore store, Upload upload)
      throws IOException {
    Http.checkDeclaredLength(request, store.maxEntryBytes());
    try (InputStream in = Content.Source.asInputStream(request)) {
      try {
        upload.from(in);
      } catch (HttpError e) {
        Http.drain(in); // a 413 mid-body: let the client finish sending, then answer
        throw e;
      }
    }
  }

  private static Optional<HttpCacheStore.Entry> headBlob(HttpCacheStore store, String hash) {
    return store.sizeOfBlob(HttpCacheStore.sha256(hash))
        .map(size -> new HttpCacheStore.Entry(InputStream.nullInputStream(), size));
  }

  private static void send(Request request, Response response, Callback callback,
      Optional<HttpCacheStore.Entry> entry, HttpCacheStore store, String type) throws IOException {
    if (entry.isEmpty()) {
      // Drain nothing: a GET has no body. 404 with no JSON body, as both tools only look at status.
      response.setStatus(404);
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0L);
      callback.succeeded();
      return;
    }
    HttpCacheStore.Entry e = entry.get();
    try (InputStream in = e.in()) {
      response.setStatus(200);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, e.size());
      if (HttpMethod.HEAD.is(request.getMethod())) {
        callback.succeeded();
        return;
      }
      try (OutputStream out = Content.Sink.asOutputStream(response)) {
        store.bytesOut.addAndGet(in.transferTo(out));
      }
    }
    callback.succeeded();
  }
}
