package dev.buildnet.client;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.util.Optional;

/**
 * The master refused a build request, a cancel or a subscription with an ERROR: e.g. an unknown
 * target or a build id already used ({@code INVALID_PAYLOAD}), a master that is closing ({@code
 * BUSY}) or that runs no builds or does not support an option ({@code UNSUPPORTED}). Nothing was
 * started. The message names the request and says the master's reason; the cause is the
 * {@link RemoteErrorException}.
 *
 * @since 0.1
 */
public final class BuildRefusedException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final long code;
  private final String reason;

  BuildRefusedException(String what, String master, RemoteErrorException e) {
    super("the master at " + master + " refused " + what + ": " + e.remoteMessage() + " ("
        + e.code().map(Enum::name).orElse(String.valueOf(e.codeNumber())) + ")", e);
    this.code = e.codeNumber();
    this.reason = e.remoteMessage();
  }

  /** The protocol's error code, if this version knows it. */
  public Optional<ErrorCode> code() {
    return ErrorCode.fromCode(code);
  }

  /** The master's own words. */
  public String reason() {
    return reason;
  }
}
