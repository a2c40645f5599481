package dev.buildnet.api;

import dev.buildnet.api.transport.ErrorCode;
import java.util.Objects;
import java.util.Optional;

/**
 * What was asked could not be started, so nothing ran and there is nothing to clean up. {@link
 * #reason()} says why, and so what a host does about it:
 *
 * <ul>
 *   <li>{@link Reason#COMMAND}: a command could not be started: its program was not found or is
 *       not executable, or its working directory does not exist. Thrown by {@link
 *       dev.buildnet.api.exec.ShellProvider#start} (the contract for every shell provider); the
 *       engine turns it into a target that failed without running. Fix the command or the
 *       machine; the message names the program and the reason.
 *   <li>{@link Reason#WORKSPACE_LOCKED}: another build holds the workspace lock and this one was
 *       told not to wait for it, or the holder is a running master, which keeps the workspace for
 *       as long as it runs. Wait and retry, or send the build to that master. The message names
 *       the holder: its process id, when it took the lock and, for a master, its listen address.
 *   <li>{@link Reason#REFUSED}: a master refused a build request, a cancel or a subscription with
 *       an ERROR: e.g. an unknown target or a build id already used ({@code INVALID_PAYLOAD}), a
 *       master that is closing ({@code BUSY}) or that runs no builds or does not support an option
 *       ({@code UNSUPPORTED}). {@link #code()} is the protocol's error code and {@link
 *       #remoteMessage()} the master's own words: retry a {@code BUSY}, fix the request otherwise.
 *       The message names the request and the master.
 * </ul>
 *
 * @since 0.4
 */
public final class NotStartedException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  /** Why nothing was started; see the class comment for what a host does about each. */
  public enum Reason {
    /** A command's program or working directory is missing or unusable. */
    COMMAND,
    /** Another build or a running master holds the workspace. */
    WORKSPACE_LOCKED,
    /** A master refused the request; see {@link #code()}. */
    REFUSED
  }

  private final Reason reason;
  private final long code;
  private final String remoteMessage;

  /**
   * @param reason why nothing was started
   * @param message one line that names what was not started and why
   */
  public NotStartedException(Reason reason, String message) {
    this(reason, message, null);
  }

  /** As {@link #NotStartedException(Reason, String)}, with the failure that caused it. */
  public NotStartedException(Reason reason, String message, Throwable cause) {
    this(reason, message, -1, null, cause);
  }

  private NotStartedException(Reason reason, String message, long code, String remoteMessage,
      Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.code = code;
    this.remoteMessage = remoteMessage;
  }

  /**
   * A {@link Reason#REFUSED}: the master answered with an ERROR.
   *
   * @param message names the request and the master, and says the master's reason
   * @param code the protocol's error code number (it may be one this version does not know)
   * @param remoteMessage the master's own words
   * @param cause the ERROR reply as received
   */
  public static NotStartedException refused(String message, long code, String remoteMessage,
      Throwable cause) {
    return new NotStartedException(Reason.REFUSED, message, code,
        Objects.requireNonNull(remoteMessage, "remoteMessage"), cause);
  }

  /** Why nothing was started. */
  public Reason reason() {
    return reason;
  }

  /**
   * For {@link Reason#REFUSED}: the protocol's error code, if this version knows it; empty
   * otherwise.
   */
  public Optional<ErrorCode> code() {
    return reason == Reason.REFUSED ? ErrorCode.fromCode(code) : Optional.empty();
  }

  /** For {@link Reason#REFUSED}: the master's own words; null otherwise. */
  public String remoteMessage() {
    return remoteMessage;
  }
}
