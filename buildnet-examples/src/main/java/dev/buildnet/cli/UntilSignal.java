package dev.buildnet.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * For a command that serves until SIGTERM or SIGINT ({@code serve}, {@code worker}, {@code demo
 * --http}): the shutdown hook wakes the command, then waits until the command has closed what it
 * opened. The wait is the point: the JVM halts as soon as every hook has returned, so a hook that
 * only woke the command would let the halt cut its {@code close()} short, leaving a worker's
 * temporary directory behind, the state store's write-ahead log unmerged, and connected peers
 * without an orderly close.
 *
 * <p>Use with try-with-resources around the resources it guards, so that {@link #close} runs after
 * theirs.
 */
final class UntilSignal implements AutoCloseable {
  // Closing a master or worker cancels what runs (targets have a 5 s grace period by default).
  private static final long CLOSE_WAIT_SECONDS = 30;

  private final CountDownLatch stop = new CountDownLatch(1);
  private final CountDownLatch closed = new CountDownLatch(1);
  private final Thread hook;

  private UntilSignal(String name) {
    this.hook = new Thread(this::onShutdown, name);
  }

  /** Registers the hook; the thread is named {@code name} (it shows in thread dumps). */
  static UntilSignal arm(String name) {
    UntilSignal s = new UntilSignal(name);
    Runtime.getRuntime().addShutdownHook(s.hook);
    return s;
  }

  /** Blocks until the JVM is asked to stop. */
  void await() throws InterruptedException {
    stop.await();
  }

  /** Blocks until the JVM is asked to stop or the time is up; true if asked to stop. */
  boolean await(long timeout, TimeUnit unit) throws InterruptedException {
    return stop.await(timeout, unit);
  }

  /** Whether the JVM has been asked to stop. */
  boolean stopping() {
    return stop.getCount() == 0;
  }

  /**
   * The command has closed what it opened (or never will): the hook may return. If the JVM is not
   * shutting down (the command ended by itself), the hook is removed instead. Idempotent.
   */
  @Override
  public void close() {
    closed.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook runs or has run; the count-down above lets it return.
    }
  }

  private void onShutdown() {
    stop.countDown();
    try {
      closed.await(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
