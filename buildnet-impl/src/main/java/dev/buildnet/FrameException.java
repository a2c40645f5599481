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
 *   <li>{@link ErrorCode#UNKNOWN_TYPE}: a well-formed frame of a message type this version does not
 *       know (from a peer of a newer minor version). The frame was consumed whole, so the stream
 *       is still in step: a transport may skip it and read on.
 *   <li>any other code ({@code BAD_FRAME}, {@code FRAME_TOO_LARGE}, {@code TOO_DEEP}, {@code
 *       INVALID_UTF8}, {@code INVALID_PAYLOAD}): the peer's bytes are broken or hostile and the
 *       stream cannot be trusted past them. Close the connection, with this as the cause.
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

  FrameException(ErrorCode reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** The protocol's error code for what is wrong; see the class comment for what to do. */
  public ErrorCode reason() {
    return reason;
  }
}
