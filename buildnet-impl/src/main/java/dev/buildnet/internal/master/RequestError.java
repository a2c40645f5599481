package dev.buildnet.internal.master;

import dev.buildnet.api.transport.ErrorCode;

/** A request the master answers with a non-fatal ERROR: the code and the message for the peer. */
public final class RequestError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public final transient ErrorCode code;

  RequestError(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }
}
