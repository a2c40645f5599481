package dev.buildnet;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.ProtocolException;
import dev.buildnet.internal.transport.FrameAssembler;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns {@link Message}s into protocol frames and frames back into messages, exactly as {@code
 * docs/PROTOCOL.md} specifies them: what a host's {@link dev.buildnet.api.transport.Transport}
 * needs when its messages cross a process boundary (a socket, a pipe, a tunnel, a message bus).
 * The built-in TCP transport uses the same codec, so the same bytes cross the wire.
 *
 * <h2>Use</h2>
 *
 * Encode with {@link #encode(Message)} or {@link #encode(Message, OutputStream)}. Decode from a
 * blocking stream with {@link #read(InputStream)}, one message per call, or from chunks of bytes
 * as they arrive (a non-blocking channel, a message bus) with a {@link Decoder} from {@link
 * #newDecoder()}, one per connection.
 *
 * <h2>Untrusted bytes</h2>
 *
 * Decoding assumes the peer is hostile: a length prefix over {@link #maxFrameBytes()} is refused
 * before anything is allocated, a body's memory grows only as its bytes arrive, every declared
 * string, binary, array and map length is checked against the bytes left, containers nest at most
 * 16 deep, strings must be valid UTF-8, and payloads are read field by field into their records
 * (no generic value tree). Bad bytes get a {@link FrameException} naming what is wrong, and
 * nothing else. The codec knows nothing of the handshake: the 64 KiB limit the TCP transport keeps
 * on frames before it ({@code docs/PROTOCOL.md}) stays inside that transport. The handshake itself
 * runs above every transport, but until it completes a peer of a host's transport may send frames
 * up to {@link #maxFrameBytes()}: a transport open to untrusted networks bounds that itself.
 *
 * <h2>Cost and threads</h2>
 *
 * Immutable and safe for concurrent use; encoding and {@link Decoder} never block. A frame costs
 * one array of its size to encode, and its body plus the decoded message to decode.
 *
 * @since 0.4
 */
public final class MessageCodec {
  private static final MessageCodec STANDARD =
      new MessageCodec(FrameCodec.withMaxFrameBytes(TransportSettings.DEFAULT_MAX_FRAME_BYTES));

  private final FrameCodec frames;

  private MessageCodec(FrameCodec frames) {
    this.frames = frames;
  }

  /** Frames up to {@link TransportSettings#DEFAULT_MAX_FRAME_BYTES} (16 MiB), as the master's. */
  public static MessageCodec standard() {
    return STANDARD;
  }

  /**
   * Frames up to {@code maxFrameBytes}: pass {@link TransportSettings#maxFrameBytes()} so the
   * transport accepts what the master and workers send each other.
   *
   * @throws IllegalArgumentException if {@code maxFrameBytes} is below 1024
   */
  public static MessageCodec withMaxFrameBytes(int maxFrameBytes) {
    return new MessageCodec(FrameCodec.withMaxFrameBytes(maxFrameBytes));
  }

  /** The largest frame body (the bytes after the 4-byte length prefix) encoded or decoded. */
  public int maxFrameBytes() {
    return frames.maxFrameBytes();
  }

  /**
   * The whole frame: the 4-byte big-endian length, then the MessagePack body.
   *
   * @throws IllegalArgumentException if the message cannot be a frame: its payload is not one of
   *     BuildNet's protocol records, its id or runtime is empty or too long, a string holds an
   *     unpaired surrogate, or the body would exceed {@link #maxFrameBytes()}
   */
  public byte[] encode(Message message) {
    return frames.encode(Objects.requireNonNull(message, "message"));
  }

  /**
   * Writes the whole frame to {@code out} in one {@code write}; does not flush.
   *
   * @throws IllegalArgumentException as {@link #encode(Message)}, before anything is written
   * @throws IOException if {@code out} fails
   */
  public void encode(Message message, OutputStream out) throws IOException {
    byte[] frame = encode(message);
    out.write(frame);
  }

  /**
   * Reads exactly one frame from {@code in} (never a byte past it) and decodes it. Blocks until
   * the frame is complete.
   *
   * @return the message, or null if the stream ended cleanly between frames
   * @throws FrameException if the bytes are not a valid frame, including a stream that ends inside
   *     one ({@link ErrorCode#BAD_FRAME}). After {@link ErrorCode#UNKNOWN_TYPE} the frame was
   *     consumed whole, so the stream is still in step
   * @throws IOException if {@code in} fails
   */
  public Message read(InputStream in) throws IOException {
    try {
      byte[] body = new FrameReader(in, frames).next();
      return body == null ? null : frames.decodeBody(body);
    } catch (EOFException e) {
      // FrameReader's own signal for a stream that ended inside a frame.
      throw new FrameException(ErrorCode.BAD_FRAME, e.getMessage() != null ? e.getMessage()
          : "truncated frame: the stream ended inside a frame");
    } catch (ProtocolException e) {
      throw translate(e);
    }
  }

  /** A decoder for one connection's incoming bytes. */
  public Decoder newDecoder() {
    return new Decoder(frames);
  }

  private static FrameException translate(ProtocolException e) {
    return new FrameException(e.code(), e.getMessage());
  }

  /**
   * Decodes one connection's frames from chunks of bytes, however the bytes are split: feed every
   * chunk to {@code next} in order, and call {@link #finish()} when the bytes end.
   *
   * <p>A bad frame ends the decoder. The messages decoded before it in the same chunk are returned
   * first, and the {@link FrameException} is thrown by the following call ({@code next} or {@code
   * finish}); any call after that throws {@link IllegalStateException}. So a transport delivers
   * every good message, then closes the connection with the exception as its cause.
   *
   * <p>Not thread-safe: one decoder per connection, fed by one thread at a time.
   *
   * @since 0.4
   */
  public static final class Decoder {
    private final FrameCodec frames;
    private final FrameAssembler assembler;
    private FrameException error;
    private boolean errorThrown;
    private boolean finished;

    private Decoder(FrameCodec frames) {
      this.frames = frames;
      this.assembler = new FrameAssembler(frames.maxFrameBytes());
    }

    /**
     * Consumes all of {@code chunk} and returns the messages it completed, in order (often none:
     * a frame may span many chunks).
     *
     * @throws FrameException for a bad frame (see the class comment for when)
     * @throws IllegalStateException if the decoder already failed or finished
     */
    public List<Message> next(ByteBuffer chunk) {
      Objects.requireNonNull(chunk, "chunk");
      checkUsable();
      List<Message> out = new ArrayList<>(0);
      try {
        byte[] body;
        while ((body = assembler.next(chunk)) != null) {
          out.add(frames.decodeBody(body, 0, assembler.length()));
        }
      } catch (ProtocolException e) {
        error = translate(e);
        if (out.isEmpty()) {
          errorThrown = true;
          throw error;
        }
      }
      return out;
    }

    /** As {@link #next(ByteBuffer)} for {@code bytes[offset, offset + length)}. */
    public List<Message> next(byte[] bytes, int offset, int length) {
      Objects.checkFromIndexSize(offset, length, bytes.length);
      return next(ByteBuffer.wrap(bytes, offset, length));
    }

    /**
     * Says the bytes have ended; the decoder takes no more.
     *
     * @throws FrameException {@link ErrorCode#BAD_FRAME} if they ended inside a frame, or the
     *     error of a bad frame not yet thrown
     * @throws IllegalStateException if the decoder already failed or finished
     */
    public void finish() {
      checkUsable();
      finished = true;
      if (assembler.midFrame()) {
        error = new FrameException(ErrorCode.BAD_FRAME,
            "truncated frame: the bytes ended " + assembler.partial());
        errorThrown = true;
        throw error;
      }
    }

    private void checkUsable() {
      if (error != null) {
        if (!errorThrown) {
          errorThrown = true;
          throw error;
        }
        throw new IllegalStateException("the decoder failed earlier: " + error.getMessage());
      }
      if (finished) {
        throw new IllegalStateException("the decoder was finished");
      }
    }
  }
}
