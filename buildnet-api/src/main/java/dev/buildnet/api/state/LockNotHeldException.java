package dev.buildnet.api.state;

/**
 * A {@link Lock} was renewed or released by someone who no longer holds it: it was already
 * released, it expired, or it expired and was granted to another owner (whose fencing token is
 * then higher). Any work done under the lost lock must be treated as unprotected.
 *
 * @since 0.1
 */
public class LockNotHeldException extends StateException {
  private static final long serialVersionUID = 1L;

  private final transient Lock lock;

  public LockNotHeldException(Lock lock, String message) {
    super(message);
    this.lock = lock;
  }

  /** The lock the caller presented. */
  public Lock lock() {
    return lock;
  }
}
