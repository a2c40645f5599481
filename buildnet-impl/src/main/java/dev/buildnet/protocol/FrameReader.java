package dev.buildnet.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads whole frame bodies from a stream, however the bytes arrive: a read may return one byte or
 * many, and the reader accumulates until a frame is complete. The length prefix is checked
 * against the maximum before the body is allocated.
 *
 * <p>Not thread-safe: one reader per connection, used by its reading thread. {@link #next()}
 * blocks on the stream.
 *
 * @since 0.1
 */
public final class FrameReader {
  private final InputStream in;
  private final FrameCodec codec;
  private final byte[] prefix = new byte[FrameCodec.PREFIX_BYTES];

  public FrameReader(InputStream in, FrameCodec codec) {
    this.in = in;
    this.codec = codec;
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
    codec.checkDeclaredLength(declared);
    if (declared == 0) {
      throw new ProtocolException(ErrorCode.BAD_FRAME, "empty frame: a frame needs an envelope");
    }
    byte[] body = new byte[(int) declared];
    int read = fill(body, 0);
    if (read < body.length) {
      throw new EOFException(
          "truncated frame: the stream ended after " + read + " of " + declared + " bytes");
    }
    return body;
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
