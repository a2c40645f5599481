package dev.buildnet.internal.transport;

import java.io.IOException;

/**
 * The listener answered the handshake with a refusal (a HELLO_ACK that does not accept, or an
 * ERROR): it was reached, so retrying with the same settings cannot help and callers must not
 * report it as unreachable. The message is the same as before this type existed; {@link
 * #detail()} is the code and reason alone, for a caller that says "refused" itself.
 */
public final class HandshakeRefusedException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String detail;

  HandshakeRefusedException(String message, String detail) {
    super(message);
    this.detail = detail;
  }

  /** The refusal's code and reason, e.g. {@code AUTH_FAILED: authentication failed: ...}. */
  public String detail() {
    return detail;
  }
}
