package dev.buildnet.cli;

import dev.buildnet.BuildFuture;
import dev.buildnet.api.build.BuildResult;
import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * While a build runs, SIGTERM or SIGINT to the JVM (a CI runner's cancel, {@code docker stop},
 * Ctrl-C, an IDE's stop button) cancels it: a shutdown hook cancels the build, which kills every
 * running target's process tree, waits for it to stop, and prints the summary with the cancelled
 * targets. The JVM then exits with the status it gives a signalled process: 130 after SIGINT, 143
 * after SIGTERM (a shutdown hook cannot and does not change it).
 *
 * <p>Exactly one of the command and the hook prints the summary: whoever claims it first. If the
 * build ended by itself just before the signal, the command prints it and the hook waits (a little)
 * for that, so the output is not cut off by the exit.
 */
final class CancelOnShutdown implements AutoCloseable {
  private static final int RUNNING = 0;
  private static final int COMMAND_PRINTS = 1;
  private static final int HOOK_PRINTS = 2;
  // The targets' grace period (5 s by default) plus the time to kill what ignores it.
  private static final long STOP_WAIT_SECONDS = 30;
  private static final long PRINT_WAIT_SECONDS = 5;

  private final BuildFuture build;
  private final PrintWriter out;
  private final AtomicInteger state = new AtomicInteger(RUNNING);
  private final CountDownLatch commandPrinted = new CountDownLatch(1);
  private final Thread hook;

  private CancelOnShutdown(BuildFuture build, PrintWriter out) {
    this.build = build;
    this.out = out;
    this.hook = new Thread(this::onShutdown, "buildnet-cli-shutdown");
  }

  /** Arms the hook for {@code build}; close it once the command has printed its result. */
  static CancelOnShutdown arm(BuildFuture build, PrintWriter out) {
    CancelOnShutdown c = new CancelOnShutdown(build, out);
    Runtime.getRuntime().addShutdownHook(c.hook);
    return c;
  }

  /**
   * True if the command should print the build's summary; false if the shutdown hook has taken
   * over (the JVM is exiting and the hook prints the cancelled summary).
   */
  boolean commandPrints() {
    return state.compareAndSet(RUNNING, COMMAND_PRINTS) || state.get() == COMMAND_PRINTS;
  }

  private void onShutdown() {
    if (!state.compareAndSet(RUNNING, HOOK_PRINTS)) {
      awaitQuietly(commandPrinted, PRINT_WAIT_SECONDS);
      return;
    }
    build.cancel(true);
    BuildResult r;
    try {
      r = build.result().get(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      out.println();
      out.println("cancelled: the build did not stop within " + STOP_WAIT_SECONDS + " s");
      out.flush();
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (java.util.concurrent.ExecutionException e) {
      out.println();
      out.println("cancelled: " + e.getCause());
      out.flush();
      return;
    }
    ConsoleReporter.summary(out, r);
    out.println("cancelled: BuildNet was asked to stop (SIGTERM or SIGINT); running targets were killed");
    out.flush();
  }

  private static void awaitQuietly(CountDownLatch latch, long seconds) {
    try {
      latch.await(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The command is done printing; the hook is no longer needed (unless it is already running). */
  @Override
  public void close() {
    commandPrinted.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // Shutdown has begun; the hook runs and finds the summary already printed or its own to print.
    }
  }
}
