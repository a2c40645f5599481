package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import dev.buildnet.api.BuildNetException;

/**
 * A frame or message the receiver must reject. {@link #code()} is what the receiver puts in its
 * ERROR reply; {@link #messageId()} is the offending message's id when the decoder got that far
 * (so the reply can name it); {@link #fatal()} says whether the connection must close. The message
 * is cut to {@link ErrorText#MAX_CHARS} characters, since it may quote the offending value.
 *
 * @since 0.1
 */
public class ProtocolException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final String messageId;
  private final boolean fatal;

  public ProtocolException(ErrorCode code, String message, String messageId, boolean fatal) {
    super(ErrorText.bounded(message));
    this.code = code;
    this.messageId = messageId;
    this.fatal = fatal;
  }

  /** A fatal error with no known message id. */
  public ProtocolException(ErrorCode code, String message) {
    this(code, message, null, true);
  }

  public ErrorCode code() {
    return code;
  }

  /** The offending message's id, or null if it could not be read. */
  public String messageId() {
    return messageId;
  }

  public boolean fatal() {
    return fatal;
  }
}
