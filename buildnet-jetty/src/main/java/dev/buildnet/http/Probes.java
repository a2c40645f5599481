package dev.buildnet.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code /health} and {@code /ready}: fixed bodies and pre-encoded headers, answered without
 * blocking. {@code /health} allocates nothing of its own per request: each Jetty thread reuses one
 * body buffer once the previous write has consumed it (a write still in flight gets a view).
 */
final class Probes {
  private static final HttpField TEXT = new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "text/plain");
  private static final HttpField TEXT_UTF8 =
      new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
  private static final HttpField NO_STORE = new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "no-store");

  private Probes() {}

  /**
   * A read-only direct buffer: the socket write takes its bytes from where they are, where a heap
   * buffer is first copied into a temporary direct one by the JDK on every write.
   */
  private static ByteBuffer direct(String ascii) {
    byte[] b = ascii.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocateDirect(b.length).put(b).flip().asReadOnlyBuffer();
  }

  /** A probe only reads: GET, or HEAD (Jetty leaves the body out). */
  private static boolean readOnly(Request request) {
    String method = request.getMethod();
    return HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method);
  }

  /**
   * 405 for any other method, as every endpoint answers a method it does not serve: a {@code PUT}
   * that got 200 would tell a client its write was taken.
   */
  private static boolean refuse(Request request, Response response, Callback callback) {
    return Http.handled(response, callback, () -> {
      throw Http.methodNotAllowed(request, "GET or HEAD");
    });
  }

  static Handler health() {
    ByteBuffer body = direct("ok\n");
    HttpField length = new PreEncodedHttpField(HttpHeader.CONTENT_LENGTH, String.valueOf(body.remaining()));
    ThreadLocal<ByteBuffer> perThread =
        ThreadLocal.withInitial(() -> body.duplicate().position(body.limit()));
    return new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        if (!readOnly(request)) {
          return refuse(request, response, callback);
        }
        ByteBuffer b = perThread.get();
        if (b.hasRemaining()) {
          b = body.duplicate(); // the last write from this thread has not finished with it
        } else {
          // clear(), not rewind(): a HEAD's write empties the buffer (Jetty clears it, limit 0)
          // instead of consuming it, and the view's capacity is exactly the body
          b.clear();
        }
        response.setStatus(200);
        response.getHeaders().add(TEXT);
        response.getHeaders().add(NO_STORE);
        response.getHeaders().add(length);
        response.write(true, b, callback);
        return true;
      }
    };
  }

  /**
   * 200 while the engine accepts work and can write its state and cache; 503 with the reason
   * otherwise: draining or closed, or {@code writeFailure}'s one line (e.g. a full disk). Both
   * suppliers must not block ({@code BuildNet.writeFailure()} does not).
   */
  static Handler ready(BooleanSupplier accepting, Supplier<Optional<String>> writeFailure) {
    ByteBuffer yes = ByteBuffer.wrap("ready\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
    ByteBuffer draining = ByteBuffer.wrap("not ready: draining or closed\n"
        .getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
    return new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        if (!readOnly(request)) {
          return refuse(request, response, callback);
        }
        ByteBuffer body = yes.duplicate();
        int status = 200;
        if (!accepting.getAsBoolean()) {
          body = draining.duplicate();
          status = 503;
        } else {
          Optional<String> failure = writeFailure.get();
          if (failure.isPresent()) {
            body = ByteBuffer.wrap(
                ("not ready: " + failure.get() + "\n").getBytes(StandardCharsets.UTF_8));
            status = 503;
          }
        }
        response.setStatus(status);
        response.getHeaders().add(TEXT_UTF8); // a reason names a path, which may be non-ASCII
        response.getHeaders().add(NO_STORE);
        response.write(true, body, callback);
        return true;
      }
    };
  }
}
