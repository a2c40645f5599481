package dev.buildnet.api.state;

import dev.buildnet.api.BuildNetException;
import java.util.Objects;

/**
 * A {@link StateBackend} could not complete an operation. {@link #reason()} says what a host does
 * about it:
 *
 * <ul>
 *   <li>{@link Reason#FAILED}: the store is corrupt, read-only or unreachable, or a stored value
 *       does not fit the operation (e.g. {@code increment} of a value that is not an integer).
 *       Retry later or give up; the message names the store and the key or resource involved.
 *   <li>{@link Reason#LOCK_NOT_HELD}: a {@link Lock} was renewed or released by someone who no
 *       longer holds it: it was already released, it expired, or it expired and was granted to
 *       another owner (whose fencing token is then higher). Any work done under the lost lock
 *       must be treated as unprotected: stop it, and acquire the lock again before going on.
 *       {@link #lock()} is the lock the caller presented; the message names its owner and token
 *       and the current holder, if any.
 * </ul>
 *
 * <p>Fencing is one test: {@code catch (StateException e) { if (e.reason() ==
 * Reason.LOCK_NOT_HELD) ... }}.
 *
 * @since 0.1
 */
public final class StateException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  /** What went wrong; see the class comment for what a host does about each. */
  public enum Reason {
    /** The store could not complete the operation. */
    FAILED,
    /** The lock presented is no longer held by its owner (released, expired or taken over). */
    LOCK_NOT_HELD
  }

  private final Reason reason;
  private final transient Lock lock;

  /** A {@link Reason#FAILED} failure; the message names the store and the key or resource. */
  public StateException(String message) {
    this(Reason.FAILED, null, message, null);
  }

  /** A {@link Reason#FAILED} failure with its cause. */
  public StateException(String message, Throwable cause) {
    this(Reason.FAILED, null, message, cause);
  }

  private StateException(Reason reason, Lock lock, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
    this.lock = lock;
  }

  /**
   * A {@link Reason#LOCK_NOT_HELD}: {@code lock} was renewed or released by someone who no longer
   * holds it.
   *
   * @param lock the lock the caller presented
   * @param message names the lock's owner and token and, if any, the current holder
   */
  public static StateException lockNotHeld(Lock lock, String message) {
    return new StateException(Reason.LOCK_NOT_HELD, Objects.requireNonNull(lock, "lock"),
        message, null);
  }

  /** What went wrong. */
  public Reason reason() {
    return reason;
  }

  /** For {@link Reason#LOCK_NOT_HELD}: the lock the caller presented; null otherwise. */
  public Lock lock() {
    return lock;
  }
}
