package dev.buildnet.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
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
  private static final HttpField NO_STORE = new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "no-store");

  private Probes() {}

  static Handler health() {
    ByteBuffer body = ByteBuffer.wrap("ok\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
    HttpField length = new PreEncodedHttpField(HttpHeader.CONTENT_LENGTH, String.valueOf(body.remaining()));
    ThreadLocal<ByteBuffer> perThread =
        ThreadLocal.withInitial(() -> body.duplicate().position(body.limit()));
    return new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        ByteBuffer b = perThread.get();
        if (b.hasRemaining()) {
          b = body.duplicate(); // the last write from this thread has not finished with it
        } else {
          b.rewind();
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

  /** 200 while the engine accepts work, 503 before (or once draining). */
  static Handler ready(BooleanSupplier accepting) {
    ByteBuffer yes = ByteBuffer.wrap("ready\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
    ByteBuffer no = ByteBuffer.wrap("not ready\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
    return new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        boolean ok = accepting.getAsBoolean();
        response.setStatus(ok ? 200 : 503);
        response.getHeaders().add(TEXT);
        response.getHeaders().add(NO_STORE);
        response.write(true, (ok ? yes : no).duplicate(), callback);
        return true;
      }
    };
  }
}
