package dev.buildnet.http;

import dev.buildnet.api.blob.BlobException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.Optional;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gradle's HTTP build cache ({@code GET/PUT /cache/{key}}) and Bazel's HTTP remote cache
 * ({@code GET/PUT/HEAD /ac/{hash}} and {@code /cas/{sha256}}) over one {@link HttpCacheStore}.
 *
 * <p>Every request is answered exactly once, with a status and a length, whatever happens: the
 * connection is then either ready for the next request or closed by Jetty, never in between. PUT
 * bodies are read with {@link BodyReader} (no thread waits for a slow client); responses are
 * written asynchronously (no thread waits for a slow reader).
 */
final class CacheHandlers {
  private static final Logger log = LoggerFactory.getLogger(CacheHandlers.class);

  static final String GRADLE_V2 = "application/vnd.gradle.build-cache-artifact.v2";
  private static final String GRADLE_PREFIX = "application/vnd.gradle.build-cache-artifact.v";
  private static final String OCTETS = "application/octet-stream";
  private static final HttpField OCTETS_FIELD = new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, OCTETS);
  private static final HttpField GRADLE_V2_FIELD =
      new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "application/vnd.gradle.build-cache-artifact.v2");
  private static final HttpField NO_LENGTH = new PreEncodedHttpField(HttpHeader.CONTENT_LENGTH, "0");

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

  /**
   * A cache route: {@link #handle} on a pool thread for everything, and {@link #tryNow} for a
   * GET or HEAD whose entry is packed, answered on the thread that parsed the request (a
   * positional read of at most 64 KiB and its SHA-256 check: no pool hand-off per hit), and for
   * a PUT whose declared length is small enough to be packed: its body is taken as far as it has
   * arrived and, if whole, stored with one append on that thread; the rest of a body that is
   * still arriving is taken by Jetty's demand callback on a pool thread, as for any upload.
   * Eviction and compaction never run on the parsing thread (see {@link #receive}).
   */
  private abstract static class CacheRoute extends Handler.Abstract implements RouteTable.Inline {
    private final HttpCacheStore store;

    CacheRoute(HttpCacheStore store) {
      this.store = store;
    }

    /** The pack's namespace and key for a GET or HEAD of this path, or null. */
    abstract String[] packedKey(String path);

    /** The content type to answer with. */
    abstract String typeFor(Request request, HttpCacheStore.Entry e);

    /** What a PUT of this path stores its body with, or null for a path the route refuses. */
    abstract Store putInto(Request request, String path);

    abstract int putStatus();

    @Override
    public boolean tryNow(Request request, Response response, Callback callback) {
      String method = request.getMethod();
      if (HttpMethod.PUT.is(method)) {
        long declared = request.getLength();
        if (declared < 0 || declared > store.packedMax() || store.packedMax() == 0) {
          return false;
        }
        Store into = putInto(request, Request.getPathInContext(request));
        if (into == null) {
          return false;
        }
        receive(request, response, callback, store, putStatus(), into, true);
        return true;
      }
      if (!HttpMethod.GET.is(method) && !HttpMethod.HEAD.is(method)) {
        return false;
      }
      String[] k = packedKey(Request.getPathInContext(request));
      if (k == null) {
        return false;
      }
      HttpCacheStore.Entry e = store.getPackedNow(k[0], k[1]);
      if (e == null) {
        return false;
      }
      store.answeredNow.increment();
      send(request, response, callback, Optional.of(e), store, typeFor(request, e));
      return true;
    }
  }

  /** {@code /cache/{key}}: Gradle. */
  static Handler gradle(HttpCacheStore store) {
    return new CacheRoute(store) {
      @Override
      String[] packedKey(String path) {
        String key = path.substring("/cache/".length());
        return validKey(key) ? new String[] {"gradle", key} : null;
      }

      @Override
      String typeFor(Request request, HttpCacheStore.Entry e) {
        return e.type() != null ? e.type() : gradleTypeAsked(request);
      }

      @Override
      Store putInto(Request request, String path) {
        String key = path.substring("/cache/".length());
        if (!validKey(key)) {
          return null;
        }
        String type = gradleType(request.getHeaders().get(HttpHeader.CONTENT_TYPE));
        return body -> store.put("gradle", key, body, type);
      }

      @Override
      int putStatus() {
        return 201;
      }

      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        return Http.handled(response, callback, () -> {
          String key = Request.getPathInContext(request).substring("/cache/".length());
          if (!validKey(key)) {
            throw Http.badRequest("cache key '" + Http.clip(key) + "' is not a plain name",
                "Gradle sends hex keys; use letters, digits, '.', '_' or '-'");
          }
          String method = request.getMethod();
          if (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method)) {
            Optional<HttpCacheStore.Entry> e = store.get("gradle", key);
            send(request, response, callback, e, store,
                e.map(HttpCacheStore.Entry::type).orElseGet(() -> gradleTypeAsked(request)));
          } else if (HttpMethod.PUT.is(method)) {
            receive(request, response, callback, store, 201,
                putInto(request, Request.getPathInContext(request)), false);
          } else {
            throw Http.methodNotAllowed(request, "GET, HEAD or PUT");
          }
        });
      }
    };
  }

  /**
   * The Gradle artifact type a client asked for in {@code Accept} (Gradle 4 sends {@code v1},
   * later versions {@code v2}), or {@code v2}.
   */
  static String gradleTypeAsked(Request request) {
    String accept = request.getHeaders().get(HttpHeader.ACCEPT);
    if (accept != null) {
      for (String part : accept.split(",")) {
        String t = gradleType(part);
        if (t != null) {
          return t;
        }
      }
    }
    return GRADLE_V2;
  }

  /** {@code application/vnd.gradle.build-cache-artifact.v<digits>} from a header value, or null. */
  static String gradleType(String value) {
    if (value == null) {
      return null;
    }
    int semi = value.indexOf(';');
    String t = (semi < 0 ? value : value.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    if (!t.startsWith(GRADLE_PREFIX) || t.length() == GRADLE_PREFIX.length() || t.length() > 60) {
      return null;
    }
    for (int i = GRADLE_PREFIX.length(); i < t.length(); i++) {
      if (t.charAt(i) < '0' || t.charAt(i) > '9') {
        return null;
      }
    }
    return t;
  }

  /** {@code /ac/{hash}} and {@code /cas/{sha256}}: Bazel. */
  static Handler bazel(HttpCacheStore store, boolean cas) {
    String prefix = cas ? "/cas/" : "/ac/";
    return new CacheRoute(store) {
      @Override
      String[] packedKey(String path) {
        String hash = path.substring(prefix.length());
        return sha256Hex(hash) ? new String[] {cas ? "cas" : "ac", hash} : null;
      }

      @Override
      String typeFor(Request request, HttpCacheStore.Entry e) {
        return OCTETS;
      }

      @Override
      Store putInto(Request request, String path) {
        String hash = path.substring(prefix.length());
        if (!sha256Hex(hash)) {
          return null;
        }
        return body -> {
          if (cas) {
            try {
              store.putBlob(HttpCacheStore.sha256(hash), body);
            } catch (BlobException e) {
              if (e.reason() != BlobException.Reason.DIGEST_MISMATCH) {
                throw e;
              }
              store.rejected.incrementAndGet();
              throw new HttpError(400, "digest_mismatch",
                  "the body hashes to " + e.actualDigest() + ", not to the sha256:" + hash
                      + " it was PUT as",
                  "PUT a CAS blob under the SHA-256 of its bytes");
            }
          } else {
            store.put("ac", hash, body, null);
          }
        };
      }

      @Override
      int putStatus() {
        return 200;
      }

      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        return Http.handled(response, callback, () -> {
          String hash = Request.getPathInContext(request).substring(prefix.length());
          if (!sha256Hex(hash)) {
            throw Http.badRequest("'" + Http.clip(hash) + "' is not a SHA-256 in lowercase hex",
                "Bazel addresses " + prefix + " entries by 64 lowercase hex digits");
          }
          String method = request.getMethod();
          if (HttpMethod.HEAD.is(method) && cas) {
            Optional<Long> size = store.sizeOfBlob(HttpCacheStore.sha256(hash));
            if (size.isEmpty()) {
              notFound(response, callback);
            } else {
              response.setStatus(200);
              response.getHeaders().add(OCTETS_FIELD);
              response.getHeaders().put(HttpHeader.CONTENT_LENGTH, size.get());
              response.write(true, null, callback);
            }
          } else if (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method)) {
            Optional<HttpCacheStore.Entry> e = cas
                ? store.getBlob(HttpCacheStore.sha256(hash))
                : store.get("ac", hash);
            send(request, response, callback, e, store, OCTETS);
          } else if (HttpMethod.PUT.is(method)) {
            receive(request, response, callback, store, 200,
                putInto(request, Request.getPathInContext(request)), false);
          } else {
            throw Http.methodNotAllowed(request, "GET, HEAD or PUT");
          }
        });
      }
    };
  }

  /** Stores a received body. */
  private interface Store {
    void into(HttpCacheStore.Incoming body) throws IOException;
  }

  /**
   * Reads the PUT body without holding a thread while it arrives, stores it, then answers
   * {@code status} with an empty body (or the error): exactly once. With {@code now}, this runs
   * on the thread that parsed the request, which must not block for long: a body complete by
   * then is stored there (a small one, one append), but eviction or compaction that the store
   * then needs runs on a pool thread before the answer; the rest of the body, if any, arrives
   * on pool threads as usual.
   */
  private static void receive(Request request, Response response, Callback callback,
      HttpCacheStore store, int status, Store into, boolean now) {
    HttpCacheStore.Incoming body = store.incoming();
    new BodyReader(request, store.maxEntryBytes()) {
      @Override
      protected void onBytes(ByteBuffer bytes) throws IOException {
        body.write(bytes);
      }

      @Override
      protected void onEnd(long length) {
        boolean parsingThread = now && starting();
        body.deferMaintenance = parsingThread;
        Http.handled(response, callback, () -> {
          try {
            into.into(body);
          } finally {
            body.close();
          }
          if (parsingThread && store.maintenanceDue()) {
            request.getContext().execute(() -> Http.handled(response, callback, () -> {
              store.maintain();
              answer();
            }));
          } else {
            answer();
          }
        });
      }

      private void answer() {
        response.setStatus(status);
        response.getHeaders().add(NO_LENGTH);
        response.write(true, null, callback);
      }

      @Override
      protected void onTooLarge() {
        IO.close(body);
        store.rejected.incrementAndGet();
        HttpError e = Http.tooLarge(store.maxEntryBytes());
        Http.error(response, callback, e.status, e.code, e.getMessage(), e.hint);
      }

      @Override
      protected void onFailure(Throwable failure, long afterBytes) {
        IO.close(body);
        // A client that goes away mid-upload is routine (a cancelled build): one line, no trace.
        log.info("HTTP cache: {} {} ended after {} bytes of its body: {}", request.getMethod(),
            Http.clip(Request.getPathInContext(request)), afterBytes, Http.describe(failure));
        callback.failed(failure);
      }
    }.start();
  }

  private static void notFound(Response response, Callback callback) {
    // No JSON body: both tools only look at the status.
    response.setStatus(404);
    response.getHeaders().add(NO_LENGTH);
    response.write(true, null, callback);
  }

  private static void send(Request request, Response response, Callback callback,
      Optional<HttpCacheStore.Entry> entry, HttpCacheStore store, String type) {
    if (entry.isEmpty()) {
      notFound(response, callback);
      return;
    }
    HttpCacheStore.Entry e = entry.get();
    response.setStatus(200);
    HttpField typeField = type == null || type.equals(OCTETS) ? OCTETS_FIELD
        : type.equals(GRADLE_V2) ? GRADLE_V2_FIELD : null;
    if (typeField != null) {
      response.getHeaders().put(typeField); // pre-encoded: the common types cost no encoding
    } else {
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    }
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, e.size());
    boolean head = HttpMethod.HEAD.is(request.getMethod());
    if (e.bytes() != null) {
      if (!head) {
        store.bytesOut.addAndGet(e.size());
      }
      response.write(true, head ? null : ByteBuffer.wrap(e.bytes()), callback);
      return;
    }
    InputStream in = e.stream();
    if (head) {
      IO.close(in);
      response.write(true, null, callback);
      return;
    }
    // Written as the client reads: a slow reader holds a connection, not a thread.
    Content.copy(Content.Source.from(in), response, Callback.from(() -> {
      IO.close(in);
      store.bytesOut.addAndGet(e.size());
      callback.succeeded();
    }, t -> {
      IO.close(in);
      callback.failed(t);
    }));
  }
}
