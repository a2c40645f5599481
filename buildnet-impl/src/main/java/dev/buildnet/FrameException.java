package dev.buildnet;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.ErrorCode;
import java.util.Objects;

/**
 * Bytes that {@link MessageCodec} refused to decode as a protocol frame. {@link #reason()} is the
 * protocol's error code for it ({@code docs/PROTOCOL.md}, "Error codes"), and says what a transport
 * does next:
 *
 * <ul>
 *   <li>{@link #fatal()} false: a well-formed frame of a message type this version does not know
 *       ({@link ErrorCode#UNKNOWN_TYPE}, from a peer of a newer minor version), read after the
 *       handshake. The frame was consumed whole, so the stream is still in step: answer it with
 *       {@link MessageCodec#encodeError(FrameException)} (ERROR {@code UNKNOWN_TYPE}, {@code
 *       fatal: false}, {@code reply_to} its id) and read on; the connection stays open ({@code
 *       docs/PROTOCOL.md}, "Versioning").
 *   <li>{@link #fatal()} true: any other code ({@code BAD_FRAME}, {@code FRAME_TOO_LARGE}, {@code
 *       TOO_DEEP}, {@code INVALID_UTF8}, {@code INVALID_PAYLOAD}), where the peer's bytes are
 *       broken or hostile and the stream cannot be trusted past them, or an unknown type before
 *       the handshake. Send the peer {@link MessageCodec#encodeError(FrameException)}, then close
 *       the connection with this as the cause.
 * </ul>
 *
 * <p>The message is one line that names what is wrong, e.g. {@code "frame of 20000000 bytes
 * exceeds the maximum of 16777216 bytes"}.
 *
 * @since 0.4
 */
public final class FrameException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode reason;
  private final String messageId;
  private final boolean fatal;

  FrameException(ErrorCode reason, String message) {
    this(reason, message, null, true);
  }

  FrameException(ErrorCode reason, String message, String messageId, boolean fatal) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.messageId = messageId;
    this.fatal = fatal;
  }

  /** The protocol's error code for what is wrong; see the class comment for what to do. */
  public ErrorCode reason() {
    return reason;
  }

  /**
   * The refused frame's message id, or null if the decoder did not read that far (always set for
   * {@link ErrorCode#UNKNOWN_TYPE}); the ERROR answering it names it in {@code reply_to}.
   *
   * @since 0.5
   */
  public String messageId() {
    return messageId;
  }

  /**
   * Whether the connection must close: false only for {@link ErrorCode#UNKNOWN_TYPE} after the
   * handshake, which is answered and read past.
   *
   * @since 0.5
   */
  public boolean fatal() {
    return fatal;
  }
}
