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
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One started command. Its life is a handful of events (sample, timeout, cancel, root exit, tree
 * stopped, output drained), each handled on the provider's single scheduler thread, so the fields
 * below the line need no locking.
 */
public final class ProcessRun implements RunningCommand {
  private static final Logger LOG = LoggerFactory.getLogger(ProcessRun.class);
  // Once the tree is gone nobody can hold the pipes, so the readers end at once; this bound only
  // matters for a process that escaped the tree and still holds them.
  private static final long DRAIN_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(5);
  // How long after the root's exit its output may still be open before we conclude that some
  // other process holds the pipes. Waiting longer only costs an unneeded scan under heavy load.
  private static final long FIRST_SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
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

  // ---- confined to the scheduler thread (sampling and timeout are set by begin(), before it
  // hands the scheduler anything of this command's) ----
  private Outcome stopReason;
  private CompletableFuture<Void> treeStopped;
  private boolean rootExited;
  private long exitNanos;
  private boolean finished;
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

  /** Arms sampling, the timeout and the exit hook. Called once, by the provider. */
  public void begin() {
    // Armed here, on the caller's thread, rather than in a task of its own on the scheduler (a
    // wake-up of that thread per command): nothing else runs on the scheduler for this command
    // before the lines below hand it work, and each hand-off publishes these two fields to it.
    // The first look waits a little: a process just past exec has nothing to show yet, and the
    // many commands that end within milliseconds are spared the /proc reads.
    sampling =
        scheduler.scheduleWithFixedDelay(
            guarded(() -> tree.refresh(false)),
            Math.min(FIRST_SAMPLE_NANOS, sampleIntervalNanos),
            sampleIntervalNanos,
            TimeUnit.NANOSECONDS);
    if (spec.timeout() != null) {
      // Counted from just before the fork, like the wall time.
      long remaining = spec.timeout().toNanos() - (System.nanoTime() - startNanos);
      timeout =
          scheduler.schedule(
              guarded(() -> stop(Outcome.TIMED_OUT)),
              Math.max(0, remaining),
              TimeUnit.NANOSECONDS);
    }
    // Output that cannot be handled fails the command: stop it now rather than let it run on
    // (the pump keeps draining meanwhile, so the child never blocks on a full pipe).
    for (OutputPump pump : new OutputPump[] {stdout, stderr}) {
      pump.failed().thenAccept(cause -> onScheduler(() -> stop(Outcome.CANCELLED)));
    }
    // A thread of the provider's reader pool waits for the exit, not Process.onExit(): that one
    // hands its completion to the common fork-join pool, which on a machine of one or two cores
    // (parallelism 1) means a new thread for every command, about a millisecond each here.
    try {
      waiters.execute(this::awaitExit);
    } catch (RejectedExecutionException | OutOfMemoryError noThread) {
      process.onExit().whenComplete((p, failure) -> {
        long now = System.nanoTime();
        onScheduler(() -> rootExited(now));
      });
    }
  }

  private void awaitExit() {
    Thread thread = Thread.currentThread();
    String previousName = thread.getName();
    thread.setName("buildnet-exec-" + process.pid() + "-wait");
    boolean interrupted = false;
    while (true) {
      try {
        process.waitFor();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // not ours to honour: the exit must still be reported
      }
    }
    long now = System.nanoTime();
    thread.setName(previousName);
    onScheduler(() -> rootExited(now));
    if (interrupted) {
      thread.interrupt();
    }
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
    // An exit that the JDK has seen but whose callback is still on its way is an exit, not a stop.
    if (stopReason != null || rootExited || !process.isAlive()) {
      return;
    }
    stopReason = why;
    cancelTimers();
    treeStopped = TreeStop.begin(tree, spec.gracePeriod(), scheduler, describe(), true);
  }

  private void rootExited(long now) {
    if (rootExited) {
      return;
    }
    rootExited = true;
    exitNanos = now;
    tree.rootReaped();
    cancelTimers();
    if (treeStopped != null) {
      whenDone(treeStopped, this::awaitOutput);
      return;
    }
    CompletableFuture<Void> drained = CompletableFuture.allOf(stdout.done(), stderr.done());
    if (drained.isDone()) {
      cleanUpAfterExit(false);
      return;
    }
    // Output still open a moment after the exit means some process still holds the pipes.
    drainWait =
        scheduler.schedule(
            guarded(() -> cleanUpAfterExit(true)), EXIT_LINGER_NANOS, TimeUnit.NANOSECONDS);
    drained.whenComplete((ignored, failure) -> onScheduler(() -> cleanUpAfterExit(false)));
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
    CompletableFuture<Void> drained = CompletableFuture.allOf(stdout.done(), stderr.done());
    if (drained.isDone()) {
      finish(false);
      return;
    }
    drainWait =
        scheduler.schedule(guarded(() -> finish(true)), DRAIN_LIMIT_NANOS, TimeUnit.NANOSECONDS);
    drained.whenComplete((ignored, failure) -> onScheduler(() -> finish(false)));
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
    result.complete(
        new CommandResult(
            stopReason == null ? Outcome.EXITED : stopReason,
            process.exitValue(),
            out,
            err,
            truncated,
            Duration.ofNanos(exitNanos - startNanos),
            Duration.ofNanos(tree.peakCpuNanos()),
            tree.peakRssBytes()));
  }

  /** Runs {@code next} on the scheduler thread once {@code stage} is done; at once if it is. */
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
      stage.whenComplete((ignored, failure) -> onScheduler(() -> next.accept(failure)));
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
    result.completeExceptionally(failure);
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
    scheduler.execute(guarded(task));
  }

  /**
   * A failure inside the provider must surface in the result, not die silently in the
   * executor, and must not leave the command running.
   */
  private Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        LOG.error("{}: provider failure", describe(), e);
        if (!finished) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          fail(e);
        }
      }
    };
  }
}
