package dev.buildnet.http;

import java.nio.ByteBuffer;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/**
 * Reads a request body through Jetty's demand model ({@link Content.Source#read()} until it has
 * nothing, then {@link Content.Source#demand}): a thread runs only while there are bytes to take,
 * so a client that sends one byte a second holds a connection, never a thread. Exactly one of
 * {@link #onEnd}, {@link #onTooLarge} and {@link #onFailure} is called, once, and it must complete
 * the request's callback.
 *
 * <p>The demand callback is a plain {@link Runnable}, which Jetty treats as blocking and runs on a
 * pool thread, so the subclass may write to disk or do blocking work in any of its methods.
 * One reader per request; its methods are never called concurrently.
 */
abstract class BodyReader implements Runnable {
  private final Request request;
  private final long limit;
  /** The declared Content-Length, or -1 (chunked). */
  private long declared = -1;
  private long seen;
  private boolean over;

  BodyReader(Request request, long limit) {
    this.request = request;
    this.limit = limit;
  }

  /** Bytes of the body, in order, while it is within the limit. */
  protected abstract void onBytes(ByteBuffer bytes) throws Exception;

  /** The whole body arrived within the limit. */
  protected abstract void onEnd(long length) throws Exception;

  /**
   * The body is over the limit. It was read and dropped up to {@link Http#DRAIN_BYTES} past the
   * limit, so that a client still sending gets the 413 rather than a reset; Jetty closes the
   * connection after the answer if more remains.
   */
  protected abstract void onTooLarge();

  /**
   * The body could not be read (the client went away, or stopped sending for the idle timeout),
   * or {@link #onBytes}/{@link #onEnd} threw {@code failure}. {@code afterBytes} is how far it got.
   */
  protected abstract void onFailure(Throwable failure, long afterBytes);

  /** Starts reading; returns at once if the body has not arrived yet. */
  final void start() {
    declared = request.getLength();
    if (declared > limit && declared - limit > Http.DRAIN_BYTES) {
      // Refused by its declared length; a client that sent Expect: 100-continue sends nothing.
      over = true;
      onTooLarge();
      return;
    }
    starting = true;
    try {
      run();
    } finally {
      starting = false;
    }
  }

  /**
   * Whether this call comes from {@link #start} itself (on the caller's thread), not from a
   * demand callback (on a pool thread, where blocking is allowed).
   */
  protected final boolean starting() {
    return starting;
  }

  private boolean starting;

  @Override
  public final void run() {
    while (true) {
      Content.Chunk chunk = request.read();
      if (chunk == null) {
        request.demand(this);
        return;
      }
      if (Content.Chunk.isFailure(chunk)) {
        // Also a transient failure (the idle timeout): a stalled upload is ended, not waited for.
        onFailure(chunk.getFailure(), seen);
        return;
      }
      // A body of declared length is complete with its last byte: waiting for the end-of-content
      // marker would cost another demand cycle (a thread wake-up) per request. Jetty reads that
      // marker itself when the request completes, and keeps the connection.
      boolean last = chunk.isLast() || (declared >= 0 && seen + chunk.remaining() == declared);
      try {
        ByteBuffer b = chunk.getByteBuffer();
        int n = b.remaining();
        seen += n;
        if (!over && seen > limit) {
          over = true;
        }
        if (!over && n > 0) {
          onBytes(b);
        }
      } catch (Throwable t) {
        onFailure(t, seen);
        return;
      } finally {
        chunk.release();
      }
      if (over && (last || seen - limit > Http.DRAIN_BYTES)) {
        onTooLarge();
        return;
      }
      if (last) {
        try {
          onEnd(seen);
        } catch (Throwable t) {
          onFailure(t, seen);
        }
        return;
      }
    }
  }
}
