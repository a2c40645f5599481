package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.IntSupplier;

/**
 * Reads whole frame bodies from a stream, however the bytes arrive: a read may return one byte or
 * many, and the reader accumulates until a frame is complete. The length prefix is checked
 * against the maximum, and the body is allocated as its bytes arrive (in steps of at most
 * {@link #ALLOCATION_STEP} or the bytes already received), never up front from the prefix: a
 * peer that declares 16 MiB and sends 5 bytes costs 64 KiB, not 16 MiB.
 *
 * <p>Not thread-safe: one reader per connection, used by its reading thread. {@link #next()}
 * blocks on the stream.
 *
 * @since 0.1
 */
public final class FrameReader {
  private final InputStream in;
  private final FrameCodec codec;
  /** The first allocation for a body; later ones at most double what has arrived. */
  public static final int ALLOCATION_STEP = 8 * 1024;

  private final byte[] prefix = new byte[FrameCodec.PREFIX_BYTES];
  private IntSupplier limit;

  public FrameReader(InputStream in, FrameCodec codec) {
    this(in, codec, codec::maxFrameBytes);
  }

  /**
   * With the largest body accepted read from {@code limit} when each length prefix has arrived
   * (capped at the codec's maximum), so a limit raised by another thread while this reader waits
   * for a prefix applies to that frame.
   */
  public FrameReader(InputStream in, FrameCodec codec, IntSupplier limit) {
    this.in = in;
    this.codec = codec;
    this.limit = limit;
  }

  /**
   * Lowers the largest body accepted from here on to {@code max} (at most the codec's maximum),
   * e.g. {@link FrameCodec#PRE_HANDSHAKE_MAX_FRAME_BYTES} until the peer is authenticated.
   */
  public void limit(int max) {
    this.limit = () -> max;
  }

  /**
   * The next frame's body, or null at a clean end of stream (between frames).
   *
   * @throws ProtocolException {@link ErrorCode#FRAME_TOO_LARGE} for a length prefix over the
   *     maximum (nothing allocated), {@link ErrorCode#BAD_FRAME} for an empty frame
   * @throws EOFException if the stream ends inside a frame
   */
  public byte[] next() throws IOException {
    int got = fill(prefix, 0);
    if (got == 0) {
      return null;
    }
    if (got < prefix.length) {
      throw new EOFException(
          "truncated frame: the stream ended after " + got + " of the 4 length-prefix bytes");
    }
    long declared =
        ((prefix[0] & 0xFFL) << 24) | ((prefix[1] & 0xFFL) << 16) | ((prefix[2] & 0xFFL) << 8)
            | (prefix[3] & 0xFFL);
    FrameCodec.checkDeclaredLength(declared, Math.min(limit.getAsInt(), codec.maxFrameBytes()));
    if (declared == 0) {
      throw new ProtocolException(ErrorCode.BAD_FRAME, "empty frame: a frame needs an envelope");
    }
    int size = (int) declared;
    byte[] body = new byte[Math.min(size, ALLOCATION_STEP)];
    int read = 0;
    while (true) {
      read += fill(body, read);
      if (read == size) {
        return body;
      }
      if (read < body.length) {
        throw new EOFException(
            "truncated frame: the stream ended after " + read + " of " + declared + " bytes");
      }
      // Grow only by what has arrived: memory follows the peer's bytes, not its claims.
      body = java.util.Arrays.copyOf(body, (int) Math.min(size, 2L * body.length));
    }
  }

  private int fill(byte[] buf, int from) throws IOException {
    int off = from;
    while (off < buf.length) {
      int n = in.read(buf, off, buf.length - off);
      if (n < 0) {
        break;
      }
      off += n;
    }
    return off - from;
  }
}
