package dev.buildnet;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Protocol;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

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
 * nothing else.
 *
 * <h2>Before the handshake</h2>
 *
 * Until a peer has proven it knows the shared secret, its frames may be at most {@link
 * #PRE_HANDSHAKE_MAX_FRAME_BYTES} ({@code docs/PROTOCOL.md}, "Decoding limits"). The handshake runs
 * in BuildNet's session layer above the transport, which tells each connection when it is through
 * ({@link dev.buildnet.api.transport.Transport.Connection#authenticated()}). So a transport gives
 * each connection a decoder from {@link #newPreHandshakeDecoder()} and calls its {@link
 * Decoder#authenticated()} from there: frames up to {@link #maxFrameBytes()} from then on. When
 * the decoder refuses a frame, {@link #encodeError(FrameException)} is the ERROR to send the peer:
 * before closing, or, when {@link FrameException#fatal()} is false (an unknown type after the
 * handshake), as the answer, reading on.
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

  /**
   * The largest frame body accepted before the handshake completes: 65,536 bytes, whatever {@link
   * #maxFrameBytes()} is (a HELLO or AUTH_PROOF is a few hundred bytes).
   */
  public static final int PRE_HANDSHAKE_MAX_FRAME_BYTES = FrameCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES;

  /** Ids of the ERROR messages {@link #encodeError} makes; unique within this process. */
  private static final AtomicLong ERROR_IDS = new AtomicLong();

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
   *     one ({@link ErrorCode#BAD_FRAME}). The peer counts as past the handshake, so {@link
   *     ErrorCode#UNKNOWN_TYPE} is not {@link FrameException#fatal() fatal}: the frame was
   *     consumed whole and the stream is still in step
   * @throws IOException if {@code in} fails
   */
  public Message read(InputStream in) throws IOException {
    return read(in, frames, frames::maxFrameBytes, () -> true);
  }

  private static Message read(InputStream in, FrameCodec frames, IntSupplier limit,
      BooleanSupplier authenticated) throws IOException {
    try {
      byte[] body = new FrameReader(in, frames, limit).next();
      return body == null ? null : frames.decodeBody(body);
    } catch (EOFException e) {
      // FrameReader's own signal for a stream that ended inside a frame.
      throw new FrameException(ErrorCode.BAD_FRAME, e.getMessage() != null ? e.getMessage()
          : "truncated frame: the stream ended inside a frame");
    } catch (ProtocolException e) {
      throw translate(e, authenticated.getAsBoolean()); // now: it may have come while blocked
    }
  }

  /**
   * The frame of the ERROR a receiver sends the peer over {@code refused}: code {@link
   * FrameException#reason()}, its message, {@code reply_to} {@link FrameException#messageId()}
   * (nil when unknown) and {@code fatal} {@link FrameException#fatal()}. A fatal one goes before
   * the receiver closes the connection, so the peer learns why (as {@code docs/PROTOCOL.md} has a
   * listener answer a frame over the limit with ERROR {@code FRAME_TOO_LARGE}); a non-fatal one
   * answers a frame of an unknown type after the handshake, and the connection stays open.
   */
  public byte[] encodeError(FrameException refused) {
    Objects.requireNonNull(refused, "refused");
    ErrorReply error = new ErrorReply(refused.messageId(), refused.reason().code(),
        refused.getMessage(), refused.fatal());
    return encode(new Message(Protocol.MAJOR, error.type(),
        "e" + Long.toString(ERROR_IDS.incrementAndGet(), 36), System.currentTimeMillis(),
        Protocol.RUNTIME, error));
  }

  /**
   * A decoder for one connection's incoming bytes whose peer is trusted from the start: frames up
   * to {@link #maxFrameBytes()} at once. For a peer that still has to authenticate, use {@link
   * #newPreHandshakeDecoder()}.
   */
  public Decoder newDecoder() {
    return new Decoder(frames, frames.maxFrameBytes(), true);
  }

  /**
   * A decoder for one connection's incoming bytes that accepts frames up to {@link
   * #PRE_HANDSHAKE_MAX_FRAME_BYTES} (or {@link #maxFrameBytes()} if lower) until its {@link
   * Decoder#authenticated()} is called, and up to {@link #maxFrameBytes()} after: so an
   * unauthenticated peer never makes the connection hold more than 64 KiB of one frame.
   */
  public Decoder newPreHandshakeDecoder() {
    return new Decoder(frames, Math.min(PRE_HANDSHAKE_MAX_FRAME_BYTES, frames.maxFrameBytes()),
        false);
  }

  /**
   * Only an unknown type after the handshake is survivable (docs/PROTOCOL.md, "Versioning");
   * before it, every refusal closes the connection.
   */
  private static FrameException translate(ProtocolException e, boolean authenticated) {
    return new FrameException(e.code(), e.getMessage(), e.messageId(),
        e.fatal() || !authenticated);
  }

  /**
   * Decodes one connection's frames, however the bytes are split: feed every chunk to {@code next}
   * in order, and call {@link #finish()} when the bytes end; or read them one frame at a time from
   * a blocking stream with {@link #read(InputStream)}.
   *
   * <p>A bad frame ends the decoder. The messages decoded before it in the same chunk are returned
   * first, and the {@link FrameException} is thrown by the following call ({@code next} or {@code
   * finish}); any call after that throws {@link IllegalStateException}. So a transport delivers
   * every good message, then closes the connection with the exception as its cause.
   *
   * <p>Except a frame of an unknown type once {@link #authenticated()} (or from {@link
   * MessageCodec#newDecoder()}): its {@link FrameException} is not {@link FrameException#fatal()
   * fatal}, and the decoder stays in step (docs/PROTOCOL.md, "Versioning"). It is thrown as above
   * (at once, or by the following call if messages came before it in the chunk); answer it with
   * {@link MessageCodec#encodeError(FrameException)} and go on feeding chunks. Every call still
   * consumes its whole chunk: the bytes after the refused frame are kept and decoded first by the
   * next call (feed an empty chunk to take them when no more bytes come). {@link #finish()} refuses
   * while any are kept.
   *
   * <p><b>Before the handshake.</b> A decoder from {@link #newPreHandshakeDecoder()} refuses a
   * length prefix over {@link #PRE_HANDSHAKE_MAX_FRAME_BYTES} ({@link ErrorCode#FRAME_TOO_LARGE})
   * until {@link #authenticated()}. Until then {@link #next(ByteBuffer)} returns after each message
   * and leaves the rest of the chunk unread, because that message may be the one that completes the
   * handshake and the frames after it may be larger: deliver it, then go on with the rest ({@code
   * while (chunk.hasRemaining())}).
   *
   * <p>Not thread-safe, except {@link #authenticated()}: one decoder per connection, fed by one
   * thread at a time.
   *
   * @since 0.4
   */
  public static final class Decoder {
    private final FrameCodec frames;
    private final FrameAssembler assembler;
    private volatile int limit;
    private volatile boolean authenticated;
    private FrameException error;
    private boolean errorThrown;
    private boolean finished;
    private FrameException refused; // non-fatal, for the next call to throw
    private ByteBuffer kept; // bytes after a refused frame, decoded before the next chunk

    private Decoder(FrameCodec frames, int limit, boolean authenticated) {
      this.frames = frames;
      this.limit = limit;
      this.authenticated = authenticated;
      this.assembler = new FrameAssembler(limit);
    }

    /**
     * The peer has authenticated: frames up to the codec's {@link MessageCodec#maxFrameBytes()}
     * from the next length prefix read. Idempotent and safe from any thread (a transport calls it
     * from {@link dev.buildnet.api.transport.Transport.Connection#authenticated()}).
     */
    public void authenticated() {
      limit = frames.maxFrameBytes();
      authenticated = true;
    }

    /**
     * The largest frame body accepted now: {@link #PRE_HANDSHAKE_MAX_FRAME_BYTES} before {@link
     * #authenticated()} for a pre-handshake decoder, otherwise the codec's maximum.
     */
    public int maxFrameBytes() {
      return limit;
    }

    private boolean limited() {
      return limit < frames.maxFrameBytes();
    }

    /**
     * Consumes {@code chunk} and returns the messages it completed, in order (often none: a frame
     * may span many chunks). All of it, except before {@link #authenticated()} on a pre-handshake
     * decoder: then it returns after the first message, with the chunk's position just past its
     * frame.
     *
     * @throws FrameException for a bad frame (see the class comment for when)
     * @throws IllegalStateException if the decoder already failed or finished
     */
    public List<Message> next(ByteBuffer chunk) {
      Objects.requireNonNull(chunk, "chunk");
      checkUsable();
      ByteBuffer in = chunk;
      if (kept != null) {
        // Rare (after an unknown type): one copy joins what was kept with the new bytes.
        ByteBuffer joined = ByteBuffer.allocate(kept.remaining() + chunk.remaining());
        joined.put(kept).put(chunk).flip();
        kept = null;
        in = joined;
      }
      if (refused != null) {
        FrameException e = refused;
        refused = null;
        keep(in);
        throw e;
      }
      List<Message> out = new ArrayList<>(0);
      try {
        byte[] body;
        while (true) {
          boolean limited = limited();
          assembler.limit(limit); // read per frame: authenticated() may come from another thread
          if ((body = assembler.next(in)) == null) {
            break;
          }
          out.add(frames.decodeBody(body, 0, assembler.length()));
          if (limited) {
            break; // the caller delivers it first: it may be what lifts the limit
          }
        }
      } catch (ProtocolException e) {
        FrameException f = translate(e, authenticated);
        if (f.fatal()) {
          error = f; // this decoder cannot go on past this frame
          if (out.isEmpty()) {
            errorThrown = true;
            throw error;
          }
          return out;
        }
        // A whole frame of an unknown type was read: the bytes after it are in step.
        keep(in);
        if (out.isEmpty()) {
          throw f;
        }
        refused = f;
      }
      if (in != chunk && in.hasRemaining()) {
        keep(in); // a pre-handshake decoder stopped after a message: the caller's chunk is spent
      }
      return out;
    }

    /** Keeps what {@code in} has left for the next call, and marks it read. */
    private void keep(ByteBuffer in) {
      if (in.hasRemaining()) {
        kept = ByteBuffer.allocate(in.remaining()).put(in).flip();
      }
    }

    /**
     * As {@link #next(ByteBuffer)} for {@code bytes[offset, offset + length)}, all of which it
     * consumes.
     *
     * @throws IllegalStateException also for a pre-handshake decoder before {@link
     *     #authenticated()}, which could not stop between frames here: use {@link
     *     #next(ByteBuffer)}
     */
    public List<Message> next(byte[] bytes, int offset, int length) {
      Objects.checkFromIndexSize(offset, length, bytes.length);
      if (limited()) {
        throw new IllegalStateException("before authenticated(), a pre-handshake decoder takes "
            + "a ByteBuffer, so that it can stop after each message: next(ByteBuffer)");
      }
      return next(ByteBuffer.wrap(bytes, offset, length));
    }

    /**
     * Reads exactly one frame from {@code in} (never a byte past it) at this decoder's current
     * limit and decodes it; blocks until the frame is complete. As {@link
     * MessageCodec#read(InputStream)} otherwise, whose errors it throws: they do not end the
     * decoder. After a non-{@link FrameException#fatal() fatal} one ({@link ErrorCode#UNKNOWN_TYPE}
     * once {@link #authenticated()}, or from a {@link MessageCodec#newDecoder()}) the stream is
     * still in step: answer it and read on; after any other, close the connection.
     *
     * @return the message, or null if the stream ended cleanly between frames
     * @throws IllegalStateException if chunks fed to {@code next} left a frame unfinished, or the
     *     decoder failed or finished
     */
    public Message read(InputStream in) throws IOException {
      Objects.requireNonNull(in, "in");
      checkUsable();
      if (assembler.midFrame()) {
        throw new IllegalStateException("a frame fed to next() is unfinished: "
            + assembler.partial());
      }
      if (refused != null || kept != null) {
        throw new IllegalStateException("bytes fed to next() after a frame of an unknown type"
            + " are not taken yet: call next with an empty chunk first");
      }
      // The limit is read when the prefix has arrived, not now: a reader blocked here while
      // another thread calls authenticated() takes the raised limit for this very frame.
      return MessageCodec.read(in, frames, () -> limit, () -> authenticated);
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
      if (refused != null || kept != null) {
        throw new IllegalStateException("bytes after a frame of an unknown type are not taken"
            + " yet: call next with an empty chunk until it returns no messages, then finish");
      }
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
