package dev.buildnet.exec;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.CommandStartException;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands as operating-system processes with {@link ProcessBuilder}: argv as given (never a
 * shell string), the spec's working directory, and exactly the spec's environment.
 *
 * <h2>Process trees</h2>
 *
 * A command's process tree belongs to the command. On timeout or {@link RunningCommand#cancel()}
 * every member gets SIGTERM, and whatever is left after the grace period gets SIGKILL, repeated with
 * a fresh look for new members until none is alive. When the root exits by itself, anything it left
 * running is stopped the same way before the result completes. Members are the descendants seen
 * while the command ran (the tree is sampled, and re-walked at stop time from every member still
 * alive, so orphans stay known once seen) and, on Linux, every process still holding the command's
 * stdout or stderr, which catches a double-forked child that was never seen as a child. Signals go
 * through {@link ProcessHandle}, which checks a pid's start time first, so a recycled pid is never
 * hit. <b>Limit:</b> a process that detaches from its parent between two samples <em>and</em>
 * redirects its output away from the command's pipes (a properly daemonized server) escapes; so
 * does everything on platforms without {@code /proc} other than live descendants.
 *
 * <h2>Measurements</h2>
 *
 * Wall time is measured on {@link System#nanoTime()} from just before the fork to the moment the
 * JDK reports the root's exit. CPU time and peak memory are sampled from {@code /proc} on Linux:
 * 10 ms after the start, then every {@code sampleInterval} (default 50 ms), and while stopping a
 * tree. The JDK reaps the root the moment it exits, so there is no final reading of the root
 * itself. CPU time is the largest sum seen over the live members of their user + system time
 * including children they reaped, in 10 ms ticks: CPU spent after a process's last sample, and by
 * processes that lived less than an interval and were reaped outside the tree, is missed, so it is
 * a lower bound, and a command that ends within 10 ms reports zero CPU and memory. Peak memory is
 * the larger of the largest summed resident set seen and any member's own high-water mark ({@code
 * VmHWM}). Elsewhere, CPU time comes from {@link ProcessHandle.Info} and memory is reported as 0.
 *
 * <h2>Output</h2>
 *
 * Lines reach the listener as they arrive, from one reader thread per stream ({@code
 * buildnet-exec-<pid>-out}/{@code -err}); a line longer than 64 KiB arrives in pieces. Output is
 * read until every process holding the pipes has closed them (left-behind processes included, until
 * they are stopped); that is also how the provider knows, cheaply, whether the root left anything
 * behind, so only then does it scan every process for the pipes' holders. Memory does not grow
 * with the output: the result keeps the head and tail within the spec's cap. If handling the output
 * fails (a listener throws an {@link Error}, say {@link OutOfMemoryError}; a listener's
 * {@link RuntimeException} only stops calls to it), the readers go on draining the pipes, the
 * command's tree is stopped, and its result fails with a {@link BuildNetException} naming the
 * cause, so nothing waits for ever.
 *
 * <h2>Threads and lifecycle</h2>
 *
 * Thread-safe; one instance can run any number of commands at once. {@link #start} blocks only for
 * the fork. The provider owns one scheduler thread ({@code buildnet-exec-sampler}) and a cached pool
 * of reader threads, all daemon; they exist only while commands run and end on their own
 * {@code idleThreadTimeout} (default 2 s) after the last one, so there is nothing to close.
 *
 * @since 0.1
 */
public final class ProcessShellProvider implements ShellProvider {
  private static final Duration DEFAULT_SAMPLE_INTERVAL = Duration.ofMillis(50);
  private static final Duration DEFAULT_IDLE_THREAD_TIMEOUT = Duration.ofSeconds(2);

  private final long sampleIntervalNanos;
  private final ScheduledThreadPoolExecutor scheduler;
  private final ThreadPoolExecutor readers;
  private final ProcessInspector inspector;

  private ProcessShellProvider(Builder b) {
    this.sampleIntervalNanos = b.sampleInterval.toNanos();
    this.inspector = ProcessInspector.forThisHost();
    ThreadFactory factory = b.threadFactory;
    long idleNanos = b.idleThreadTimeout.toNanos();
    this.scheduler =
        new ScheduledThreadPoolExecutor(1, named(factory, "buildnet-exec-sampler"));
    scheduler.setKeepAliveTime(idleNanos, TimeUnit.NANOSECONDS);
    scheduler.allowCoreThreadTimeOut(true);
    scheduler.setRemoveOnCancelPolicy(true);
    scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    // Unbounded on purpose: every running command needs both readers at once, or its child
    // blocks on a full pipe.
    this.readers =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            idleNanos,
            TimeUnit.NANOSECONDS,
            new SynchronousQueue<>(),
            named(factory, "buildnet-exec-reader-idle"));
  }

  /** A provider with the defaults. */
  public static ProcessShellProvider create() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * {@inheritDoc}
   *
   * @throws CommandStartException if the program is not found (its name and the PATH searched are
   *     in the message), is not executable, or the working directory does not exist
   * @throws IllegalArgumentException if an environment name or value is not allowed by the OS
   */
  @Override
  public RunningCommand start(CommandSpec spec, OutputListener listener) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(listener, "listener");
    ProcessBuilder builder = new ProcessBuilder(spec.argv());
    builder.directory(spec.workingDirectory().toFile());
    Map<String, String> env = builder.environment();
    env.clear();
    env.putAll(spec.environment());

    long startNanos = System.nanoTime();
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw StartFailures.explain(spec, e, System.getenv("PATH"));
    }
    try {
      // The child reads end-of-file on stdin rather than waiting for input nobody will send.
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // Nothing to do: the child simply has no stdin.
    }
    ProcessTree tree = new ProcessTree(inspector, process.toHandle());
    long pid = process.pid();
    OutputPump out =
        new OutputPump(
            process.getInputStream(),
            OutputListener.Stream.STDOUT,
            listener,
            spec.outputCapBytes(),
            "buildnet-exec-" + pid + "-out");
    OutputPump err =
        new OutputPump(
            process.getErrorStream(),
            OutputListener.Stream.STDERR,
            listener,
            spec.outputCapBytes(),
            "buildnet-exec-" + pid + "-err");
    try {
      readers.execute(out);
      readers.execute(err);
    } catch (RejectedExecutionException | OutOfMemoryError e) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      throw new BuildNetException(
          "started " + spec.argv().get(0) + " (pid " + pid + ") but could not read its output; killed it",
          e);
    }
    ProcessRun run =
        new ProcessRun(spec, process, startNanos, scheduler, sampleIntervalNanos, tree, out, err);
    run.begin();
    return run;
  }

  private static ThreadFactory named(ThreadFactory base, String name) {
    return task -> {
      Thread thread = base.newThread(task);
      thread.setName(name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /** Configures a {@link ProcessShellProvider}; every setter may be called once. */
  public static final class Builder {
    private Duration sampleInterval = DEFAULT_SAMPLE_INTERVAL;
    private boolean sampleIntervalSet;
    private Duration idleThreadTimeout = DEFAULT_IDLE_THREAD_TIMEOUT;
    private boolean idleThreadTimeoutSet;
    private ThreadFactory threadFactory = Thread::new;
    private boolean threadFactorySet;

    private Builder() {}

    /**
     * How often CPU time and memory are sampled while a command runs (default 50 ms, at least 10
     * ms). Shorter is more precise for short commands and costs a few {@code /proc} reads per
     * process per sample.
     */
    public Builder sampleInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (sampleIntervalSet) {
        throw new IllegalStateException("sample interval was already set to " + sampleInterval);
      }
      if (interval.compareTo(Duration.ofMillis(10)) < 0) {
        throw new IllegalArgumentException("sample interval must be at least 10 ms but was " + interval);
      }
      sampleInterval = interval;
      sampleIntervalSet = true;
      return this;
    }

    /** How long an idle provider thread lingers before it ends (default 2 s, more than 0). */
    public Builder idleThreadTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (idleThreadTimeoutSet) {
        throw new IllegalStateException("idle thread timeout was already set to " + idleThreadTimeout);
      }
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("idle thread timeout must be positive but was " + timeout);
      }
      idleThreadTimeout = timeout;
      idleThreadTimeoutSet = true;
      return this;
    }

    /**
     * Creates the provider's threads (default {@link Thread#Thread(Runnable)}); the provider then
     * names them {@code buildnet-exec-…} and makes them daemon.
     */
    public Builder threadFactory(ThreadFactory factory) {
      Objects.requireNonNull(factory, "factory");
      if (threadFactorySet) {
        throw new IllegalStateException("thread factory was already set");
      }
      threadFactory = factory;
      threadFactorySet = true;
      return this;
    }

    public ProcessShellProvider build() {
      return new ProcessShellProvider(this);
    }
  }
}
