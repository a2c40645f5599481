package dev.buildnet.internal.exec;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandResult.Outcome;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.OutputListener;
import java.io.IOException;
import java.io.InputStream;
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
 * stopped, output drained), each handled under this run's monitor on the thread that brings it:
 * the provider's scheduler thread for timers and cancel, and for the root's exit and the end of
 * output the thread that sees them ({@link CommandLoop}, or the reader and waiter threads where it
 * cannot be had), so a command that ends by itself finishes without waking the scheduler. The
 * result is completed, and the provider's bookkeeping done, after the monitor is let go, so that
 * nothing the result's callers run holds it.
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
  // How often a loop on a caller's thread looks, while the command is ending, whether its result
  // was settled without its output (see CommandLoop.Events.settled). Only a command whose output
  // stays open after its root's exit or stop waits that long at all.
  private static final long SETTLED_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final CommandSpec spec;
  private final Process process;
  private final long startNanos;
  private final ScheduledExecutorService scheduler;
  private final long sampleIntervalNanos;
  private final ProcessTree tree;
  private final OutputListener listener;
  private final Executor waiters;
  private final CompletableFuture<CommandResult> result = new CompletableFuture<>();
  private Runnable onEnd = () -> {};
  // Set by begin(), before any other thread sees this run.
  private OutputPump stdout;
  private OutputPump stderr;
  // The command's loop, left by begin() for the caller to run itself (driveOnCaller), or null.
  private CommandLoop callerLoop;

  // ---- guarded by this (sampling and timeout are set by begin(), before it hands the scheduler
  // anything of this command's) ----
  // What completes the result, once this run's monitor is let go (see event()).
  private Runnable completion;
  private Outcome stopReason;
  private CompletableFuture<Void> treeStopped;
  private boolean rootExited;
  private long exitNanos;
  private boolean finished;
  private Future<?> sampling;
  // When the command's own loop (not the scheduler) is to sample next, and time it out.
  private long nextSampleNanos;
  // The root's status as the command's loop read it, or -1 for the JDK's.
  private int knownExitCode = -1;
  // The command's loop runs on a caller's thread (until it hands off, see LoopEvents.handOff).
  private boolean loopOnCaller;
  private long deadlineNanos;
  private Future<?> timeout;
  private Future<?> drainWait;

  public ProcessRun(
      CommandSpec spec,
      Process process,
      long startNanos,
      ScheduledExecutorService scheduler,
      long sampleIntervalNanos,
      ProcessTree tree,
      OutputListener listener,
      Executor waiters) {
    this.spec = spec;
    this.process = process;
    this.startNanos = startNanos;
    this.scheduler = scheduler;
    this.sampleIntervalNanos = sampleIntervalNanos;
    this.tree = tree;
    this.listener = listener;
    this.waiters = waiters;
  }

  private OutputPump pump(InputStream in, OutputListener.Stream stream, String name) {
    return new OutputPump(in, stream, listener, spec.outputCapBytes(), name);
  }

  private void rootExitSeen(long now) {
    event(() -> rootExited(now));
  }

  /**
   * Runs {@code action} once the tree is gone, just before the result completes, so that whoever
   * waits for the result sees the provider's bookkeeping done. Call before {@link #begin()}.
   */
  public void onEnd(Runnable action) {
    this.onEnd = action;
  }

  /**
   * Arms sampling and the timeout, then starts reading the command's output and watching its exit
   * on the {@code waiters} pool: one {@link CommandLoop} thread over {@code pipes} where a pidfd
   * can be had, else a reader thread per stream and one waiting for the exit. Called once, by the
   * provider, after {@link #onEnd}.
   *
   * @param pipes the provider's own pipes, or null for the JDK's
   * @param pidfd whether to try for a pidfd and a {@link CommandLoop} (false only in tests of the
   *     fallback)
   * @param onCaller whether a {@link CommandLoop}, if one can be had, is left for the caller to
   *     run on its own thread with {@link #driveOnCaller()} instead of a thread of the pool
   * @throws RejectedExecutionException if no thread could be had (out of memory, say); then the
   *     timers are off, what no thread reads is closed, and the caller kills the process
   */
  public void begin(OutputPipes pipes, boolean pidfd, boolean onCaller) throws IOException {
    long pid = process.pid();
    String prefix = "buildnet-exec-" + pid;
    CommandLoop loop = null;
    if (pipes != null && pidfd) {
      stdout = pump(null, OutputListener.Stream.STDOUT, prefix + "-out");
      stderr = pump(null, OutputListener.Stream.STDERR, prefix + "-err");
      SpawnedProcess spawned = process instanceof SpawnedProcess ? (SpawnedProcess) process : null;
      loop = CommandLoop.open(pipes, pid, spawned, stdout, stderr, new LoopEvents(), prefix);
    }
    InputStream out = null;
    InputStream err = null;
    if (loop == null) {
      out = pipes != null ? pipes.stdout() : process.getInputStream();
      err = pipes != null ? pipes.stderr() : process.getErrorStream();
      stdout = pump(out, OutputListener.Stream.STDOUT, prefix + "-out");
      stderr = pump(err, OutputListener.Stream.STDERR, prefix + "-err");
    }
    synchronized (this) {
      if (loop != null) {
        // The loop samples and times out between its reads: no timer on the scheduler, whose
        // thread would wake for each command only to learn of the new one.
        nextSampleNanos = startNanos + Math.min(FIRST_SAMPLE_NANOS, sampleIntervalNanos);
        deadlineNanos = spec.timeout() != null ? startNanos + spec.timeout().toNanos() : 0;
      } else {
        arm();
      }
    }
    // Output that cannot be handled fails the command: stop it now rather than let it run on
    // (the pump keeps draining meanwhile, so the child never blocks on a full pipe).
    for (OutputPump pump : new OutputPump[] {stdout, stderr}) {
      pump.failed().thenAccept(cause -> onScheduler(() -> stop(Outcome.CANCELLED)));
    }
    if (loop != null && onCaller) {
      synchronized (this) {
        loopOnCaller = true;
      }
      callerLoop = loop;
      return;
    }
    try {
      if (loop != null) {
        startLoop(loop);
      } else {
        startReaders(out, err);
      }
    } catch (RejectedExecutionException | OutOfMemoryError e) {
      synchronized (this) {
        cancelTimers();
      }
      throw e;
    }
  }

  /**
   * Reads the command's output and watches its exit on the calling thread until the command has
   * ended, if {@link #begin} left its loop to the caller; otherwise returns at once (threads of
   * the pool do that work). For a caller that would only block on {@link #result()}: then no
   * thread of the provider's wakes for the command, and the result is not handed back from one.
   * Call once, after {@link #begin}. When it returns the root has exited and its output has
   * ended, and the result completes then, or once what the command left behind has been stopped;
   * or the result was settled without the output, which some process that escaped the tree still
   * holds open, and a thread of the pool reads on (as it would have for a caller that only
   * waited for the result).
   */
  public void driveOnCaller() {
    CommandLoop loop = callerLoop;
    callerLoop = null;
    if (loop != null) {
      loop.runOnCaller();
    }
  }

  /** The command's {@link CommandLoop} reports to the run here. */
  private final class LoopEvents implements CommandLoop.Events {
    @Override
    public void rootExited(long nanoTime, int exitCode) {
      event(
          () -> {
            if (exitCode >= 0 && !rootExited) {
              knownExitCode = exitCode;
            }
            ProcessRun.this.rootExited(nanoTime);
          });
    }

    @Override
    public long tick(long nanoTime) {
      return ProcessRun.this.tick(nanoTime);
    }

    @Override
    public void awaitExit() {
      ProcessRun.this.awaitExit();
    }

    @Override
    public boolean settled() {
      synchronized (ProcessRun.this) {
        return finished;
      }
    }

    @Override
    public boolean handOff(Runnable rest) {
      synchronized (ProcessRun.this) {
        loopOnCaller = false;
      }
      try {
        waiters.execute(rest);
        return true;
      } catch (RejectedExecutionException | OutOfMemoryError e) {
        return false; // the caller reads on, as it did before there was a pool to hand off to
      }
    }
  }

  /** Samples or times out what is due; nanoseconds until the next, or -1 for nothing more. */
  private long tick(long now) {
    long[] untilNext = {-1};
    event(
        () -> {
          if (finished || rootExited || stopReason != null) {
            if (loopOnCaller && !finished) {
              // Only the output is awaited now; a caller must not wait beyond the drain limit
              // for a pipe that some escaped process holds (see settled()).
              untilNext[0] = SETTLED_CHECK_NANOS;
            }
            return;
          }
          if (spec.timeout() != null && now - deadlineNanos >= 0) {
            stop(Outcome.TIMED_OUT);
            return;
          }
          if (now - nextSampleNanos >= 0) {
            tree.refresh(false);
            nextSampleNanos = now + sampleIntervalNanos;
          }
          long next = nextSampleNanos - now;
          if (spec.timeout() != null) {
            next = Math.min(next, deadlineNanos - now);
          }
          untilNext[0] = Math.max(next, 0);
        });
    return untilNext[0];
  }

  private void arm() {
    // Armed here, on the caller's thread, rather than in a task of its own on the scheduler (a
    // wake-up of that thread per command); the monitor publishes these two fields to it.
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
  }

  private void startLoop(CommandLoop loop) {
    try {
      waiters.execute(loop);
    } catch (RejectedExecutionException | OutOfMemoryError e) {
      loop.close();
      throw e;
    }
  }

  private void startReaders(InputStream out, InputStream err) {
    boolean outRead = false;
    try {
      waiters.execute(stdout);
      outRead = true;
      waiters.execute(stderr);
    } catch (RejectedExecutionException | OutOfMemoryError e) {
      // A pump that never ran never closes its stream; one that runs closes its own at the end
      // (closing it under a read could hand its fd number to someone else's open meanwhile).
      OutputPipes.closeQuietly(outRead ? null : out);
      OutputPipes.closeQuietly(err);
      throw e;
    }
    // A thread of the provider's reader pool waits for the exit, not Process.onExit(): that one
    // hands its completion to the common fork-join pool, which on a machine of one or two cores
    // (parallelism 1) means a new thread for every command, about a millisecond each here.
    try {
      waiters.execute(this::awaitExit);
    } catch (RejectedExecutionException | OutOfMemoryError noThread) {
      process.onExit().whenComplete((p, failure) -> rootExitSeen(System.nanoTime()));
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
    rootExitSeen(now);
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
    drained.whenComplete((ignored, failure) -> event(() -> cleanUpAfterExit(false)));
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
    drained.whenComplete((ignored, failure) -> event(() -> finish(false)));
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
    CommandResult r =
        new CommandResult(
            stopReason == null ? Outcome.EXITED : stopReason,
            exitCode(),
            out,
            err,
            truncated,
            Duration.ofNanos(exitNanos - startNanos),
            Duration.ofNanos(tree.peakCpuNanos()),
            tree.peakRssBytes());
    completion =
        () -> {
          runOnEnd();
          result.complete(r);
        };
  }

  /**
   * The root's exit status: as the command's loop read it, else the JDK's. The exit may have been
   * seen through a pidfd a moment before the JDK's reaper thread has taken the status; then this
   * waits for that moment.
   */
  private int exitCode() {
    if (knownExitCode >= 0) {
      return knownExitCode;
    }
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return process.waitFor();
        } catch (InterruptedException e) {
          interrupted = true; // not ours to honour: the status is there in a moment
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Runs {@code next} once {@code stage} is done, on the thread that completes it; at once if it is. */
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
      stage.whenComplete((ignored, failure) -> event(() -> next.accept(failure)));
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
    completion =
        () -> {
          runOnEnd();
          result.completeExceptionally(failure);
        };
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

  /** Handles an event on the calling thread (see {@link #guarded}). */
  private void event(Runnable task) {
    guarded(task).run();
  }

  /**
   * Runs {@code task} under this run's monitor. A failure inside the provider must surface in the
   * result, not die silently in the executor, and must not leave the command running. The result
   * is completed once the monitor is let go, by the outermost holder (a future completed under it
   * may run a nested event on the same thread): whatever the result's dependents run, they run
   * without this run's monitor.
   */
  private Runnable guarded(Runnable task) {
    return () -> {
      boolean outermost = !Thread.holdsLock(this);
      Runnable complete;
      synchronized (this) {
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
        if (!outermost) {
          return;
        }
        complete = completion;
        completion = null;
      }
      if (complete != null) {
        complete.run();
      }
    };
  }
}
