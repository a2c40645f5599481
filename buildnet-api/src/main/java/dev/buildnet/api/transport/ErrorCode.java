package dev.buildnet.api.transport;

import java.util.Optional;

/**
 * The {@code code} of an ERROR payload and of a refusing HELLO_ACK ({@code docs/PROTOCOL.md},
 * "Error codes"). Codes are stable across minor versions; a receiver treats an unknown code like
 * {@link #INTERNAL}.
 *
 * @since 0.1
 */
public enum ErrorCode {
  /** Not a well-formed frame: bad MessagePack, truncated, trailing bytes, bad envelope. */
  BAD_FRAME(1),
  /** The length prefix exceeds the receiver's maximum frame size. */
  FRAME_TOO_LARGE(2),
  /** Containers nested deeper than the receiver's limit (16). */
  TOO_DEEP(3),
  /** A string is not valid UTF-8. */
  INVALID_UTF8(4),
  /** A known message type whose payload breaks its schema: missing field, wrong type, bad value. */
  INVALID_PAYLOAD(5),
  /** A message type this receiver does not know. Not fatal: the connection stays open. */
  UNKNOWN_TYPE(6),
  /** The peer's major version is not this one's. */
  UNSUPPORTED_VERSION(7),
  /** Missing or wrong authentication proof. */
  AUTH_FAILED(8),
  /** A message that is not allowed now, e.g. anything but AUTH_PROOF during the handshake. */
  UNEXPECTED_MESSAGE(9),
  /** The handshake or the idle timeout expired. */
  TIMEOUT(10),
  /** The request names something that does not exist (build, blob, subscription, lock). */
  NOT_FOUND(11),
  /** The receiver cannot take the request now (e.g. its outgoing queue is full). */
  BUSY(12),
  /** The request was cancelled. */
  CANCELLED(13),
  /** Uploaded bytes do not match the digest of the last chunk, or chunks were out of order. */
  DIGEST_MISMATCH(14),
  /** The receiver understands the type but does not serve it (e.g. a worker sent STATE_GET). */
  UNSUPPORTED(15),
  /** A failure inside the receiver. */
  INTERNAL(16),
  /** A lock renewed or released is no longer held by the presenter (since 1.1). */
  LOCK_NOT_HELD(17),
  /**
   * The state store refused or failed the operation, e.g. increment of a value that is not a
   * decimal integer (since 1.1).
   */
  STATE_ERROR(18);

  private final int code;

  ErrorCode(int code) {
    this.code = code;
  }

  /** The number on the wire. */
  public int code() {
    return code;
  }

  /** The code with number {@code code}, or empty if this version does not know it. */
  public static Optional<ErrorCode> fromCode(long code) {
    for (ErrorCode c : values()) {
      if (c.code == code) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }
}
