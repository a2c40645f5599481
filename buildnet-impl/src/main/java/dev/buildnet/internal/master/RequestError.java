package dev.buildnet.internal.master;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.ErrorText;

/**
 * A request the master answers with a non-fatal ERROR: the code and the message for the peer, cut
 * to {@link ErrorText#MAX_CHARS} since it may quote the request.
 */
public final class RequestError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public final transient ErrorCode code;

  RequestError(ErrorCode code, String message) {
    super(ErrorText.bounded(message), null, false, false);
    this.code = code;
  }
}
