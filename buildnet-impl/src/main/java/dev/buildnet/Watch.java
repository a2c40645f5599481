package dev.buildnet;

import dev.buildnet.internal.watch.WatchSession;

/**
 * A running {@link BuildNet#watch watch}: rebuilds its targets whenever their inputs change,
 * until closed.
 *
 * <p>{@link #close()} stops watching, cancels the cycle's build if one runs (killing its
 * processes) and waits for it to end; afterwards no thread of the watch remains. Idempotent.
 * Closing the {@link BuildNet} closes its watches too.
 *
 * @since 0.4
 */
public final class Watch implements AutoCloseable {
  private final WatchSession session;
  private final Runnable onClose;

  Watch(WatchSession session, Runnable onClose) {
    this.session = session;
    this.onClose = onClose;
  }

  /** False once closed (by {@link #close()} or by closing the BuildNet). */
  public boolean isOpen() {
    return session.isOpen();
  }

  /** The session behind this handle (tests and the benchmark drive its seams). */
  WatchSession session() {
    return session;
  }

  @Override
  public void close() {
    session.close();
    onClose.run();
  }
}
