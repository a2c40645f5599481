package dev.buildnet.internal.transport;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import java.util.Optional;

/**
 * A request was answered with an ERROR message. {@link #code()} is the peer's error code (empty
 * if this version does not know it); the message is the peer's.
 *
 * @since 0.1
 */
public class RemoteErrorException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final long code;
  private final String remoteMessage;

  public RemoteErrorException(ErrorReply error) {
    super(
        "peer answered ERROR "
            + ErrorCode.fromCode(error.code()).map(Enum::name).orElse(String.valueOf(error.code()))
            + ": "
            + error.message());
    this.code = error.code();
    this.remoteMessage = error.message();
  }

  /** The peer's own message, without the code prefix of {@link #getMessage()}. */
  public String remoteMessage() {
    return remoteMessage;
  }

  /** The error code, if this version knows it. */
  public Optional<ErrorCode> code() {
    return ErrorCode.fromCode(code);
  }

  /** The number on the wire. */
  public long codeNumber() {
    return code;
  }
}
