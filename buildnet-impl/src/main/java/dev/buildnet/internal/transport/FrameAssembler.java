package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Assembles frame bodies from whatever bytes a non-blocking read returned. Like {@link
 * FrameReader}, the prefix is checked against a limit (lowered until the handshake completes) and
 * the body grows as its bytes arrive, in steps of at most {@link FrameReader#ALLOCATION_STEP} or
 * what has already arrived: a peer's claims never allocate memory, only its bytes do.
 *
 * <p>Not thread-safe: used by one selector thread, or by one {@code MessageCodec.Decoder} (public
 * for that, in a package no module exports).
 */
public final class FrameAssembler {
  private final byte[] prefix = new byte[FrameCodec.PREFIX_BYTES];
  private int prefixGot;
  private byte[] body;
  private int bodyGot;
  private int size;
  private int limit;
  private int length;
  private final NioLoop pool;

  public FrameAssembler(int limit) {
    this(limit, null);
  }

  /**
   * With {@code pool}, a large body may go into a spare array of the loop's (no allocation): the
   * array {@link #next} returns is then longer than the body ({@link #length()} says how long),
   * and the caller gives it back with {@link #recycle} once decoded (the loop also lends one array
   * for any small frame that arrived whole: see NioLoop#takeWhole).
   */
  FrameAssembler(int limit, NioLoop pool) {
    this.limit = limit;
    this.pool = pool;
  }

  /** The length of the body {@link #next} returned last (its array may be longer, with a pool). */
  public int length() {
    return length;
  }

  /** Gives a body {@link #next} returned back to the pool, once nothing refers to it. */
  void recycle(byte[] done) {
    if (pool != null) {
      pool.releaseBody(done);
    }
  }

  /** The largest body accepted from the next length prefix on. */
  public void limit(int max) {
    this.limit = max;
  }

  /** Whether a frame has started but not completed (an end of stream here truncates it). */
  public boolean midFrame() {
    return prefixGot > 0 || body != null;
  }

  /** Where a frame left unfinished stopped, worded as {@link FrameReader} words it. */
  public String partial() {
    return body != null ? "after " + bodyGot + " of " + size + " bytes"
        : "after " + prefixGot + " of the 4 length-prefix bytes";
  }

  /**
   * Consumes bytes of {@code in} up to the end of the next complete frame and returns its body,
   * or null once {@code in} is exhausted without completing one.
   *
   * @throws ProtocolException FRAME_TOO_LARGE or BAD_FRAME (empty frame) for a bad prefix
   */
  public byte[] next(ByteBuffer in) {
    while (body == null) {
      if (!in.hasRemaining()) {
        return null;
      }
      prefix[prefixGot++] = in.get();
      if (prefixGot == prefix.length) {
        prefixGot = 0;
        long declared =
            ((prefix[0] & 0xFFL) << 24) | ((prefix[1] & 0xFFL) << 16) | ((prefix[2] & 0xFFL) << 8)
                | (prefix[3] & 0xFFL);
        FrameCodec.checkDeclaredLength(declared, limit);
        if (declared == 0) {
          throw new ProtocolException(ErrorCode.BAD_FRAME, "empty frame: a frame needs an envelope");
        }
        size = (int) declared;
        if (pool != null && size <= FrameReader.ALLOCATION_STEP && in.remaining() >= size) {
          byte[] whole = pool.takeWhole(); // the whole frame is here: no array of its own
          if (whole != null) {
            in.get(whole, 0, size);
            length = size;
            return whole;
          }
        }
        // A spare array already allocated costs nothing, so the peer's claim still allocates none.
        body = pool == null || size <= FrameReader.ALLOCATION_STEP ? null : pool.takeBody(size);
        if (body == null) {
          body = new byte[Math.min(size, FrameReader.ALLOCATION_STEP)];
        }
        bodyGot = 0;
      }
    }
    while (true) {
      int n = Math.min(in.remaining(), Math.min(body.length, size) - bodyGot);
      in.get(body, bodyGot, n);
      bodyGot += n;
      if (bodyGot == size) {
        byte[] done = body;
        body = null;
        length = size;
        return done;
      }
      if (!in.hasRemaining()) {
        return null;
      }
      // Full but more has arrived: grow by at most what the peer has sent so far.
      body = Arrays.copyOf(body, (int) Math.min(size, 2L * body.length));
    }
  }
}
