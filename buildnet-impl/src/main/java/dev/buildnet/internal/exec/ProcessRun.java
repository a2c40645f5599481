package dev.buildnet.internal.exec;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandResult.Outcome;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.RunningCommand;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One started command. Its life is a handful of events (sample, timeout, cancel, root exit, output
 * ended, tree stopped), each handled under the run's monitor by whichever thread sees it: on the
 * common path (the root exits, its output ends, nothing was left behind) the exit waiter or the
 * reader that sees the last of the three finishes the command itself, so no other thread is woken
 * for it. The waiter thread also takes the samples and enforces the timeout while it waits, so a
 * command that ends before its first sample never involves the scheduler thread; that thread runs
 * only what needs a timer of its own (stopping a tree, waiting for output after a stop) and
 * cancels.
 */
public final class ProcessRun implements RunningCommand {
  private static final Logger LOG = LoggerFactory.getLogger(ProcessRun.class);
  // Once the tree is gone nobody can hold the pipes, so the readers end at once; this bound only
  // matters for a process that escaped the tree and still holds them.
  private static final long DRAIN_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(5);
  // The first look waits a little: a process just past exec has nothing to show yet, and the
  // many commands that end within milliseconds are spared the /proc reads.
  private static final long FIRST_SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  // How long after the root's exit its output may still be open before we conclude that some
  // other process holds the pipes. Waiting longer only costs an unneeded scan under heavy load.
  private static final long EXIT_LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final CommandSpec spec;
  private final Process process;
  private final long startNanos;
  private final ScheduledExecutorService scheduler;
  private final long sampleIntervalNanos;
  private final ProcessTree tree;
  private final OutputPump stdout;
  private final OutputPump stderr;
  private final Executor waiters;
  private final CompletableFuture<CommandResult> result = new CompletableFuture<>();
  private Runnable onEnd = () -> {};

  // ---- guarded by this ----
  private Outcome stopReason;
  private CompletableFuture<Void> treeStopped;
  private boolean rootExited;
  private long exitNanos;
  private boolean awaitingOutput;
  private boolean finished;
  // Completing the result runs the caller's dependent stages: done after the monitor is let go.
  private Runnable completion;
  // Only without a waiter thread (see armOnScheduler) do these run on the scheduler.
  private Future<?> sampling;
  private Future<?> timeout;
  private Future<?> drainWait;

  public ProcessRun(
      CommandSpec spec,
      Process process,
      long startNanos,
      ScheduledExecutorService scheduler,
      long sampleIntervalNanos,
      ProcessTree tree,
      OutputPump stdout,
      OutputPump stderr,
      Executor waiters) {
    this.spec = spec;
    this.process = process;
    this.startNanos = startNanos;
    this.scheduler = scheduler;
    this.sampleIntervalNanos = sampleIntervalNanos;
    this.tree = tree;
    this.stdout = stdout;
    this.stderr = stderr;
    this.waiters = waiters;
  }

  /**
   * Runs {@code action} once the tree is gone, just before the result completes, so that whoever
   * waits for the result sees the provider's bookkeeping done. Call before {@link #begin()}.
   */
  public void onEnd(Runnable action) {
    this.onEnd = action;
  }

  /** Starts the exit waiter (which samples and times out too) and the output hooks. Called once. */
  public void begin() {
    // Output that cannot be handled fails the command: stop it now rather than let it run on
    // (the pump keeps draining meanwhile, so the child never blocks on a full pipe).
    for (OutputPump pump : new OutputPump[] {stdout, stderr}) {
      pump.failed().thenAccept(cause -> onScheduler(() -> stop(Outcome.CANCELLED)));
      // Runs on the reader thread as it ends: it may be the last event the command waits for.
      pump.done().whenComplete((ignored, failure) -> locked(this::outputEnded));
    }
    // A thread of the provider's reader pool waits for the exit, not Process.onExit(): that one
    // hands its completion to the common fork-join pool, which on a machine of one or two cores
    // (parallelism 1) means a new thread for every command, about a millisecond each here.
    try {
      waiters.execute(this::awaitExit);
    } catch (RejectedExecutionException | OutOfMemoryError noThread) {
      armOnScheduler();
    }
  }

  /** Without a waiter thread: samples and the timeout as scheduler tasks, the exit from the JDK. */
  private void armOnScheduler() {
    locked(
        () -> {
          sampling =
              scheduler.scheduleWithFixedDelay(
                  () -> locked(this::sample),
                  Math.min(FIRST_SAMPLE_NANOS, sampleIntervalNanos),
                  sampleIntervalNanos,
                  TimeUnit.NANOSECONDS);
          if (spec.timeout() != null) {
            // Counted from just before the fork, like the wall time.
            long remaining = spec.timeout().toNanos() - (System.nanoTime() - startNanos);
            timeout =
                scheduler.schedule(
                    () -> locked(() -> stop(Outcome.TIMED_OUT)),
                    Math.max(0, remaining),
                    TimeUnit.NANOSECONDS);
          }
        });
    process.onExit().whenComplete((p, failure) -> {
      long now = System.nanoTime();
      locked(
          () -> {
            if (rootExited(now)) {
              drainWait =
                  scheduler.schedule(
                      () -> locked(() -> cleanUpAfterExit(true)),
                      EXIT_LINGER_NANOS,
                      TimeUnit.NANOSECONDS);
            }
          });
    });
  }

  /**
   * The waiter: waits for the root's exit, and meanwhile takes the samples and enforces the
   * timeout (until a stop begins); after the exit, waits a moment for the output to end.
   */
  private void awaitExit() {
    Thread thread = Thread.currentThread();
    String previousName = thread.getName();
    thread.setName("buildnet-exec-" + process.pid() + "-wait");
    boolean interrupted = false;
    boolean timed = true;
    boolean hasTimeout = spec.timeout() != null;
    // Counted from just before the fork, like the wall time.
    long timeoutAt = hasTimeout ? startNanos + spec.timeout().toNanos() : 0;
    long nextSample = startNanos + Math.min(FIRST_SAMPLE_NANOS, sampleIntervalNanos);
    while (true) {
      try {
        if (!timed) {
          process.waitFor();
          break;
        }
        long due = hasTimeout && timeoutAt - nextSample < 0 ? timeoutAt : nextSample;
        if (process.waitFor(Math.max(0, due - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          break;
        }
      } catch (InterruptedException e) {
        interrupted = true; // not ours to honour: the exit must still be reported
        continue;
      }
      long now = System.nanoTime();
      if (hasTimeout && now - timeoutAt >= 0) {
        locked(() -> stop(Outcome.TIMED_OUT));
        timed = false;
      } else if (now - nextSample >= 0) {
        timed = lockedTest(this::sample);
        nextSample = now + sampleIntervalNanos;
      }
    }
    long exitAt = System.nanoTime();
    if (lockedTest(() -> rootExited(exitAt))) {
      interrupted |= lingerForOutput(exitAt);
    }
    thread.setName(previousName);
    if (interrupted) {
      thread.interrupt();
    }
  }

  /** A sample while the command runs normally; false once there is nothing more to sample. */
  private boolean sample() {
    if (stopReason != null || treeStopped != null || rootExited) {
      return false;
    }
    tree.refresh(false);
    return true;
  }

  /**
   * The root exited with its output still open: usually the readers are just about to see the
   * end. If they do not within {@link #EXIT_LINGER_NANOS}, some other process holds the pipes.
   * Returns whether it was interrupted.
   */
  private boolean lingerForOutput(long exitAt) {
    boolean interrupted = false;
    Runnable done;
    synchronized (this) {
      try {
        while (treeStopped == null) {
          if (drained()) {
            cleanUpAfterExit(false);
            break;
          }
          long left = exitAt + EXIT_LINGER_NANOS - System.nanoTime();
          if (left <= 0) {
            cleanUpAfterExit(true);
            break;
          }
          try {
            TimeUnit.NANOSECONDS.timedWait(this, left); // outputEnded() wakes it
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      } catch (RuntimeException | Error e) {
        providerFailure(e);
      }
      done = takeCompletion();
    }
    if (done != null) {
      done.run();
    }
    return interrupted;
  }

  public Duration gracePeriod() {
    return spec.gracePeriod();
  }

  @Override
  public long pid() {
    return process.pid();
  }

  @Override
  public CompletableFuture<CommandResult> result() {
    return result;
  }

  @Override
  public void cancel() {
    if (!result.isDone()) {
      onScheduler(() -> stop(Outcome.CANCELLED));
    }
  }

  private void stop(Outcome why) {
    // An exit that the JDK has seen but whose waiter is still on its way is an exit, not a stop.
    if (stopReason != null || rootExited || !process.isAlive()) {
      return;
    }
    stopReason = why;
    cancelTimers();
    treeStopped = TreeStop.begin(tree, spec.gracePeriod(), scheduler, describe(), true);
  }

  /** True if the output is still open, so that the caller should wait a moment for it. */
  private boolean rootExited(long now) {
    if (rootExited) {
      return false;
    }
    rootExited = true;
    exitNanos = now;
    tree.rootReaped();
    cancelTimers();
    if (treeStopped != null) {
      whenDone(treeStopped, this::awaitOutput);
      return false;
    }
    if (drained()) {
      cleanUpAfterExit(false);
      return false;
    }
    return true;
  }

  /** A reader has ended; if it was the last thing the command waited for, finishes it here. */
  private void outputEnded() {
    if (!drained()) {
      return;
    }
    if (awaitingOutput) {
      finish(false);
    } else if (rootExited && treeStopped == null) {
      cleanUpAfterExit(false);
    }
    notifyAll(); // the waiter may be lingering for the output (lingerForOutput)
  }

  private boolean drained() {
    return stdout.done().isDone() && stderr.done().isDone();
  }

  /**
   * Whatever the command left behind is part of it: stopped the same way as on a timeout before
   * the result completes. Only when its output is still open is it worth scanning every process
   * for the holders of its pipes; otherwise the members already known are all there is to check.
   */
  private void cleanUpAfterExit(boolean outputStillOpen) {
    if (treeStopped != null) {
      return;
    }
    if (drainWait != null) {
      drainWait.cancel(false);
    }
    treeStopped = TreeStop.begin(tree, spec.gracePeriod(), scheduler, describe(), outputStillOpen);
    whenDone(treeStopped, this::awaitOutput);
  }

  private void awaitOutput(Throwable stopFailure) {
    if (stopFailure != null) {
      fail(stopFailure);
      return;
    }
    if (drained()) {
      finish(false);
      return;
    }
    awaitingOutput = true; // outputEnded() finishes
    drainWait =
        scheduler.schedule(
            () -> locked(() -> finish(true)), DRAIN_LIMIT_NANOS, TimeUnit.NANOSECONDS);
  }

  private void finish(boolean drainAbandoned) {
    if (finished) {
      return;
    }
    finished = true;
    if (drainWait != null) {
      // A pending task would keep the otherwise idle scheduler thread alive.
      drainWait.cancel(false);
    }
    if (drainAbandoned) {
      LOG.warn(
          "{}: output still open {} s after the process tree ended; completing without it",
          describe(),
          TimeUnit.NANOSECONDS.toSeconds(DRAIN_LIMIT_NANOS));
    }
    Throwable pumpFailure = stdout.failure() != null ? stdout.failure() : stderr.failure();
    if (pumpFailure != null) {
      fail(new BuildNetException("handling the output of " + describe() + " failed ("
          + pumpFailure + "); the command was stopped", pumpFailure));
      return;
    }
    boolean drained = !drainAbandoned;
    byte[] out = drained ? stdout.captured() : new byte[0];
    byte[] err = drained ? stderr.captured() : new byte[0];
    boolean truncated = !drained || stdout.truncated() || stderr.truncated();
    runOnEnd();
    CommandResult ended =
        new CommandResult(
            stopReason == null ? Outcome.EXITED : stopReason,
            process.exitValue(),
            out,
            err,
            truncated,
            Duration.ofNanos(exitNanos - startNanos),
            Duration.ofNanos(tree.peakCpuNanos()),
            tree.peakRssBytes());
    completion = () -> result.complete(ended);
  }

  /**
   * Runs {@code next} under the monitor once {@code stage} is done: at once if it is, else on the
   * thread that completes it (the scheduler's last stop step).
   */
  private void whenDone(CompletableFuture<Void> stage, Consumer<Throwable> next) {
    if (stage.isDone()) {
      Throwable failure = null;
      try {
        stage.join();
      } catch (RuntimeException e) {
        failure = e.getCause() != null ? e.getCause() : e;
      }
      next.accept(failure);
    } else {
      stage.whenComplete((ignored, failure) -> locked(() -> next.accept(failure)));
    }
  }

  private void cancelTimers() {
    if (sampling != null) {
      sampling.cancel(false);
    }
    if (timeout != null) {
      timeout.cancel(false);
    }
  }

  private void fail(Throwable failure) {
    finished = true;
    runOnEnd();
    completion = () -> result.completeExceptionally(failure);
  }

  private void runOnEnd() {
    Runnable action = onEnd;
    onEnd = () -> {}; // once, whichever way the run ends
    try {
      action.run();
    } catch (RuntimeException e) {
      LOG.warn("{}: bookkeeping after the end failed", describe(), e);
    }
  }

  private String describe() {
    return "command " + spec.argv().get(0) + " (pid " + process.pid() + ")";
  }

  private void onScheduler(Runnable task) {
    scheduler.execute(() -> locked(task));
  }

  /** Runs {@code task} under the monitor, then completes the result if it ended the command. */
  private void locked(Runnable task) {
    lockedTest(
        () -> {
          task.run();
          return true;
        });
  }

  private boolean lockedTest(BooleanSupplier task) {
    boolean answer = false;
    Runnable done;
    synchronized (this) {
      try {
        answer = task.getAsBoolean();
      } catch (RuntimeException | Error e) {
        providerFailure(e);
      }
      done = takeCompletion();
    }
    if (done != null) {
      done.run();
    }
    return answer;
  }

  private Runnable takeCompletion() {
    Runnable done = completion;
    completion = null;
    return done;
  }

  /**
   * A failure inside the provider must surface in the result, not die silently in whichever
   * thread met it, and must not leave the command running.
   */
  private void providerFailure(Throwable e) {
    LOG.error("{}: provider failure", describe(), e);
    if (!finished) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      fail(e);
    }
  }
}
