package dev.buildnet.exec;

import dev.buildnet.internal.exec.CallerDriven;
import dev.buildnet.internal.exec.LeftoverRecord;
import dev.buildnet.internal.exec.LinuxNative;
import dev.buildnet.internal.exec.LinuxProcfs;
import dev.buildnet.internal.exec.OutputPipes;
import dev.buildnet.internal.exec.PidWindow;
import dev.buildnet.internal.exec.PosixSpawn;
import dev.buildnet.internal.exec.ProcessInspector;
import dev.buildnet.internal.exec.ProcessRun;
import dev.buildnet.internal.exec.ProcessTree;
import dev.buildnet.internal.exec.SpawnedProcess;
import dev.buildnet.internal.exec.StartFailures;
import dev.buildnet.internal.exec.ZombieSweeper;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs commands as operating-system processes (on Linux with {@code posix_spawn}, elsewhere with
 * {@link ProcessBuilder}; see "The cost of a start"): argv as given (never a
 * shell string), the spec's working directory, and exactly the spec's environment.
 *
 * <h2>Process trees</h2>
 *
 * A command's process tree belongs to the command: when the command ends (by itself, successfully
 * or not, by timeout or by cancel) no process it started is left running. On timeout or {@link
 * RunningCommand#cancel()} every member gets SIGTERM, and whatever is left after the grace period
 * gets SIGKILL, repeated with a fresh look for new members until none is alive. When the root exits
 * by itself, anything it left running is stopped the same way before the result completes.
 *
 * <p>How members are found, on Linux: this JVM makes itself a child subreaper (through JNA, see
 * {@link LinuxNative}), so a process whose parent exits is re-parented to this JVM instead of init;
 * and every command gets a random {@value #MARK_VARIABLE} in its environment, which its
 * descendants inherit whatever they do with their parents, sessions or output (a double-forked
 * {@code setsid} daemon included). A stop, which also follows every normal exit, walks the
 * descendants of every member and looks among this JVM's children for the command's marked
 * orphans; on a timeout or cancel it also looks for every process holding the command's stdout or
 * stderr. Adopted orphans are reaped once they are zombies (see also {@link ZombieSweeper}).
 * Signals go through {@link ProcessHandle}, which checks a pid's start time first, so a recycled
 * pid is never hit. <b>Limits:</b> a process that both detaches before it is seen <em>and</em>
 * replaces its environment (e.g. {@code env -i}) escapes. Without the subreaper (an embedding
 * host's default, or JNA failing to load, with one warning) orphans go to init or to another
 * subreaper, and the marked ones are looked for among the pids Linux handed out since the
 * command's fork ({@link PidWindow}: the kernel's last pid and count of created processes bound
 * them), so a command that started nothing costs four small reads of {@code /proc} (one before
 * its fork, three at its end, through files kept open), and
 * only where they cannot be bounded is every process's environment read. A process that picks its
 * own pid ({@code clone3} with {@code set_tid}, which needs {@code CAP_CHECKPOINT_RESTORE}) can
 * escape that window. On platforms without {@code /proc} (macOS,
 * Windows) only live descendants are found, and no variable is added to the environment. Why a
 * mark rather than a session or process group per command: a daemon calls {@code setsid()}
 * itself, which leaves any session or group, and a JVM cannot give its child a new session
 * without a helper program in front of the command.
 *
 * <h2>When the JVM ends</h2>
 *
 * While commands run, the provider has a JVM shutdown hook that stops them all (SIGTERM, then
 * SIGKILL after their grace period) before the JVM exits, so SIGTERM or SIGINT to the JVM, or
 * {@link System#exit}, leaves nothing behind; {@link #start} refuses new commands once shutdown has
 * begun. Against {@code kill -9}, which runs no hook, a provider built with {@link
 * Builder#recordIn(Path)} keeps a record of its running processes there ({@link LeftoverRecord}),
 * and a provider built later with the same directory kills what a dead JVM left behind.
 *
 * <h2>Measurements</h2>
 *
 * Wall time is measured on {@link System#nanoTime()} from just before the fork to the moment the
 * provider sees the root's exit (through a pidfd on Linux, else as the JDK reports it). CPU time
 * and peak memory are sampled from {@code /proc} on Linux: 10 ms after the start, then every
 * {@code sampleInterval} (default 50 ms), and while stopping a tree. The root is reaped the
 * moment it exits, so there is no final reading of the root itself. CPU time is the largest sum
 * seen over the live members of their user + system time including children they reaped, in 10 ms
 * ticks: CPU spent after a process's last sample, and by
 * processes that lived less than an interval and were reaped outside the tree, is missed, so it is
 * a lower bound, and a command that ends within 10 ms reports zero CPU and memory. Peak memory is
 * the larger of the largest summed resident set seen and any member's own high-water mark ({@code
 * VmHWM}). Elsewhere, CPU time comes from {@link ProcessHandle.Info} and memory is reported as 0.
 *
 * <h2>The cost of a start</h2>
 *
 * On Linux with JNA, glibc 2.34 or later and pidfds (Linux 5.3), a command is started with glibc's
 * {@code posix_spawn} through JNA ({@link PosixSpawn}), not {@link ProcessBuilder}: the child is
 * set up as the JDK would set it up (the same program lookup on this JVM's PATH, the same start
 * failures, stdin at end-of-file, no other fd inherited), except that its signal mask and every
 * signal's disposition are reset to the defaults. The JDK then knows nothing of it: the command's
 * own loop thread reaps it when its pidfd says it exited, so no JDK reaper thread per process and
 * no hand-off from it, and the subreaper's reaping of orphans leaves such a root alone until then.
 * Signals to it go through its pidfd. Elsewhere, or where any of that is missing, {@link
 * ProcessBuilder} starts it: there the JDK (17 to 24) uses {@code posix_spawn} of a helper, {@code
 * jspawnhelper}, which then execs the command, two execs per command; {@code
 * -Djdk.lang.Process.launchMechanism=VFORK} execs the command directly and is faster (see the
 * README's figures), but the JVM reads the property once, when it starts its first process, it
 * applies to the whole JVM, and JDK 25 deprecates the mechanism (a warning on standard error) for
 * later removal. So BuildNet never sets it: a launcher that owns its JVM passes it on JDKs before
 * 25, and an embedding host decides for itself.
 *
 * <h2>Output</h2>
 *
 * Lines reach the listener as they arrive. On Linux one thread per command ({@code
 * buildnet-exec-<pid>}, or for {@link #run} and BuildNet's own targets the calling thread itself)
 * reads both streams and sees
 * the root's exit, with {@code poll(2)} over the
 * pipes and a pidfd of the root (Linux 5.3 or later; elsewhere, or without JNA or a pidfd, one
 * reader thread per stream, {@code buildnet-exec-<pid>-out}/{@code -err}, and one waiting for the
 * exit); a line longer than 64 KiB arrives in pieces. Output is
 * read until every process holding the pipes has closed them (left-behind processes included, until
 * they are stopped); that is also how the provider knows, cheaply, whether the root left anything
 * behind, so only then does it scan every process for the pipes' holders. On Linux the pipes are
 * the provider's own (made through JNA), not the JDK's: the JDK closes the pipes it owns as soon as
 * the root exits, and a descendant still writing would die of {@code SIGPIPE}. Elsewhere, or
 * without JNA, the JDK's pipes serve, and output written after the root's exit can be lost if its
 * reader thread had not started by then. Memory does not grow
 * with the output: the result keeps the head and tail within the spec's cap. If handling the output
 * fails (a listener throws an {@link Error}, say {@link OutOfMemoryError}; a listener's
 * {@link RuntimeException} only stops calls to it), the readers go on draining the pipes, the
 * command's tree is stopped, and its result fails with a {@link BuildNetException} naming the
 * cause, so nothing waits for ever.
 *
 * <h2>Threads and lifecycle</h2>
 *
 * Thread-safe; one instance can run any number of commands at once. {@link #start} blocks only for
 * the fork. The provider owns one scheduler thread ({@code buildnet-exec-sampler}: stopping trees,
 * and sampling where a command has no thread of its own to do it) and a cached pool of reader
 * threads, all daemon; they exist only while commands run and end on their own
 * {@code idleThreadTimeout} (default 2 s) after the last one, so there is nothing to close.
 *
 * @since 0.1
 */
public final class ProcessShellProvider implements ShellProvider {
  /**
   * The environment variable that marks every process of one command on Linux: a random value per
   * command, never part of a target's key.
   */
  public static final String MARK_VARIABLE = "BUILDNET_TARGET_TOKEN";

  private static final Logger LOG = LoggerFactory.getLogger(ProcessShellProvider.class);

  static {
    // The engine's own targets start through this, so that the engine's thread, which would
    // only wait, runs the command's loop as run() does while a build cancel can still stop it.
    CallerDriven.register(
        (shell, spec, listener) ->
            shell instanceof ProcessShellProvider p
                ? p.launch(spec, listener, !onVirtualThread())
                : null);
  }
  private static final Duration DEFAULT_SAMPLE_INTERVAL = Duration.ofMillis(50);
  private static final Duration DEFAULT_IDLE_THREAD_TIMEOUT = Duration.ofSeconds(2);
  // How long the shutdown hook waits beyond the longest grace period for trees to be gone.
  private static final long SHUTDOWN_SLACK_NANOS = TimeUnit.SECONDS.toNanos(5);

  /**
   * The system property ({@code true}/{@code false}) that sets {@link Builder#subreaper}'s
   * default.
   */
  public static final String SUBREAPER_PROPERTY = "buildnet.subreaper";

  private final long sampleIntervalNanos;
  private final ScheduledThreadPoolExecutor scheduler;
  private final ThreadPoolExecutor readers;
  private final ProcessInspector inspector;
  private final boolean linux;
  private final boolean nativeCalls;
  private final boolean ownPipes;
  private final boolean pidfd;
  private final boolean spawn;
  private final LeftoverRecord record;
  private final Set<ProcessRun> running = ConcurrentHashMap.newKeySet();
  private final Thread shutdownHook;
  // ---- guarded by running ----
  private ZombieSweeper sweeper;
  private int admitted;
  private boolean hookRegistered;
  private boolean shuttingDown;

  private ProcessShellProvider(Builder b) {
    this.sampleIntervalNanos = b.sampleInterval.toNanos();
    this.inspector = ProcessInspector.forThisHost();
    this.linux = inspector instanceof LinuxProcfs;
    this.nativeCalls = b.nativeCalls && b.subreaper;
    this.ownPipes = linux && b.nativeCalls;
    this.pidfd = b.pidfd;
    // posix_spawn needs the pidfd loop to reap its children: without either, the JDK starts them.
    this.spawn = ownPipes && b.pidfd && b.posixSpawn && PosixSpawn.isAvailable();
    if (b.recordDir != null) {
      LeftoverRecord.killLeftovers(b.recordDir, inspector);
      this.record = LeftoverRecord.in(b.recordDir, inspector);
    } else {
      this.record = null;
    }
    this.shutdownHook = new Thread(this::stopAllAtShutdown, "buildnet-exec-shutdown");
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
   * @throws dev.buildnet.api.NotStartedException ({@code COMMAND}) if the program is not found (its
   *     name and the PATH searched are in the message), is not executable, or the working
   *     directory does not exist
   * @throws IllegalArgumentException if an environment name or value is not allowed by the OS
   */
  @Override
  public RunningCommand start(CommandSpec spec, OutputListener listener) {
    return launch(spec, listener, false);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Where a command gets a loop of its own (see "Output"), the calling thread, which would only
   * wait, runs it: it reads the output and sees the exit itself, so no thread of the provider's
   * wakes for the command and the result is not handed back from one. Its name is left as it is.
   * A virtual thread (JDK 21 and later) waits as {@link #start} callers do instead: the loop
   * blocks in native calls, which would pin its carrier thread for the whole command. Like the
   * default, the wait is not interruptible; a timeout in the spec, or {@link
   * RunningCommand#cancel()} from elsewhere, ends it.
   *
   * @throws dev.buildnet.api.NotStartedException as {@link #start} does
   * @throws IllegalArgumentException as {@link #start} does
   */
  @Override
  public CommandResult run(CommandSpec spec) {
    ProcessRun run = launch(spec, OutputListener.discard(), !onVirtualThread());
    run.driveOnCaller();
    try {
      return run.result().join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw e;
    }
  }

  /** {@code Thread.isVirtual()}, found at run time: the library is built for JDK 17. */
  private static final MethodHandle IS_VIRTUAL = isVirtualHandle();

  private static MethodHandle isVirtualHandle() {
    try {
      return MethodHandles.publicLookup()
          .findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
    } catch (NoSuchMethodException | IllegalAccessException e) {
      return null; // before JDK 19 (21 without preview) there are no virtual threads
    }
  }

  /** Whether the calling thread is a virtual thread, whose carrier a native wait would pin. */
  static boolean onVirtualThread() {
    if (IS_VIRTUAL == null) {
      return false;
    }
    try {
      return (boolean) IS_VIRTUAL.invokeExact(Thread.currentThread());
    } catch (Throwable e) {
      return false; // cannot happen for a public no-argument getter; a platform thread then
    }
  }

  /**
   * Starts {@code spec}. With {@code onCaller}, a loop the command gets is left for the caller to
   * run ({@link ProcessRun#driveOnCaller()}) instead of a thread of the pool.
   */
  private ProcessRun launch(CommandSpec spec, OutputListener listener, boolean onCaller) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(listener, "listener");
    String mark = null;
    LinuxNative natives = null;
    if (linux) {
      mark = MARK_VARIABLE + "=" + UUID.randomUUID().toString().replace("-", "");
      // Before the first fork, so that even the first command's orphans come to this JVM.
      natives = nativeCalls ? LinuxNative.get() : null;
    }
    admit(spec);
    // Without the subreaper, the counters that later bound where the command's detached
    // processes can be; read before the fork, so that they count every process it starts.
    PidWindow window = linux && natives == null ? PidWindow.beforeFork() : null;
    // Pipes of this JVM's own, which the JDK cannot close under a process still writing to them
    // (see OutputPipes); null where they cannot be had, and the JDK's pipes serve as elsewhere.
    OutputPipes pipes = ownPipes ? OutputPipes.open() : null;

    long startNanos = System.nanoTime();
    Process process;
    try {
      process =
          pipes != null && spawn
              ? PosixSpawn.start(spec.argv(), spec.workingDirectory(), environment(spec, mark), pipes)
              : startWithJdk(spec, mark, pipes);
    } catch (IOException e) {
      closeAll(pipes);
      release(null);
      throw StartFailures.explain(spec, e, System.getenv("PATH"));
    } catch (RuntimeException | Error e) {
      closeAll(pipes);
      release(null);
      throw e;
    }
    if (pipes != null) {
      pipes.started();
    }
    long pid = process.pid();
    String recordKey = mark != null ? mark : MARK_VARIABLE + "=" + pid;
    ProcessTree.MemberListener members = ProcessTree.MemberListener.NONE;
    if (record != null) {
      record.started(recordKey, pid);
      members = (memberPid, ticks) -> record.member(recordKey, memberPid, ticks);
    }
    ProcessTree tree =
        new ProcessTree(
            inspector, natives, sweeper(natives), window, process.toHandle(), mark, members,
            pipes != null ? pipes.identities() : null);
    ProcessRun run =
        new ProcessRun(
            spec, process, startNanos, scheduler, sampleIntervalNanos, tree, listener, readers);
    running.add(run);
    run.onEnd(
        () -> {
          if (record != null) {
            record.ended(recordKey);
          }
          release(run);
        });
    try {
      run.begin(pipes, pidfd, onCaller);
    } catch (IOException | RejectedExecutionException | OutOfMemoryError e) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      if (process instanceof SpawnedProcess) {
        ((SpawnedProcess) process).waitFor(); // no JDK reaper for it, and no loop: killed, it exits at once
      }
      if (e instanceof IOException) {
        closeAll(pipes); // no reader has anything of them yet
      }
      if (record != null) {
        record.ended(recordKey);
      }
      release(run);
      throw new BuildNetException(
          "started " + spec.argv().get(0) + " (pid " + pid + ") but could not read its output; killed it",
          e);
    }
    return run;
  }

  /** The spec's environment, plus the command's mark where it has one. */
  private static Map<String, String> environment(CommandSpec spec, String mark) {
    if (mark == null) {
      return spec.environment();
    }
    Map<String, String> env = new HashMap<>(spec.environment());
    env.put(MARK_VARIABLE, mark.substring(MARK_VARIABLE.length() + 1));
    return env;
  }

  private static Process startWithJdk(CommandSpec spec, String mark, OutputPipes pipes)
      throws IOException {
    ProcessBuilder builder = new ProcessBuilder(spec.argv());
    builder.directory(spec.workingDirectory().toFile());
    Map<String, String> env = builder.environment();
    env.clear();
    env.putAll(environment(spec, mark));
    if (pipes != null) {
      pipes.redirect(builder);
    }
    Process process = builder.start();
    try {
      // The child reads end-of-file on stdin rather than waiting for input nobody will send.
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // Nothing to do: the child simply has no stdin.
    }
    return process;
  }

  /** For tests: whether this provider starts commands with posix_spawn rather than the JDK. */
  boolean startsWithPosixSpawn() {
    return spawn;
  }

  private static void closeAll(OutputPipes pipes) {
    if (pipes != null) {
      pipes.close();
    }
  }

  private ZombieSweeper sweeper(LinuxNative natives) {
    if (natives == null) {
      return null;
    }
    synchronized (running) {
      if (sweeper == null) {
        sweeper = new ZombieSweeper(natives);
      }
      return sweeper;
    }
  }

  /**
   * Counts a command in before its fork; while any is counted, the shutdown hook is registered.
   * Refuses once the JVM is shutting down: a process started then would outlive the JVM.
   */
  private void admit(CommandSpec spec) {
    synchronized (running) {
      if (!shuttingDown && !hookRegistered) {
        try {
          Runtime.getRuntime().addShutdownHook(shutdownHook);
          hookRegistered = true;
        } catch (IllegalStateException e) {
          shuttingDown = true;
        }
      }
      if (shuttingDown) {
        throw new BuildNetException(
            "not starting " + spec.argv().get(0) + ": the JVM is shutting down");
      }
      admitted++;
    }
  }

  private void release(ProcessRun run) {
    if (run != null) {
      running.remove(run);
    }
    synchronized (running) {
      admitted--;
      running.notifyAll(); // the shutdown hook may be waiting for this
      if (admitted == 0 && hookRegistered && !shuttingDown) {
        try {
          Runtime.getRuntime().removeShutdownHook(shutdownHook);
          hookRegistered = false;
        } catch (IllegalStateException e) {
          // The JVM began shutting down just now; the hook runs (and finds nothing to stop).
        }
      }
    }
  }

  /**
   * The shutdown hook: stops every running command as a cancel would, and waits until their trees
   * are gone (bounded by the longest grace period plus a few seconds), so the JVM does not exit
   * with its commands' processes still running. A command admitted just before shutdown began is
   * stopped too, once it has started.
   */
  private void stopAllAtShutdown() {
    Set<ProcessRun> cancelled = new HashSet<>();
    // The slack alone covers a command admitted but not forked yet.
    long deadline = System.nanoTime() + SHUTDOWN_SLACK_NANOS;
    synchronized (running) {
      shuttingDown = true;
      while (admitted > 0) {
        for (ProcessRun run : running) {
          if (cancelled.add(run)) {
            if (cancelled.size() == 1) {
              // Debug only: each command's result says it was cancelled, and a host (the CLI's
              // "cancelled: BuildNet was asked to stop") says why, where its user looks.
              LOG.debug("JVM shutting down: stopping the running commands");
            }
            run.cancel();
            long runDeadline =
                System.nanoTime() + run.gracePeriod().toNanos() + SHUTDOWN_SLACK_NANOS;
            deadline = Math.max(deadline, runDeadline);
          }
        }
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          LOG.warn("JVM shutting down: {} command(s) did not stop in time", admitted);
          return;
        }
        try {
          running.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
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
    private Path recordDir;
    private boolean nativeCalls = true;
    private boolean pidfd = true;
    private boolean posixSpawn = true;
    private boolean subreaper = Boolean.getBoolean(SUBREAPER_PROPERTY);

    private Builder() {}

    /**
     * Whether this JVM becomes a Linux child subreaper when the first command starts (default:
     * the system property {@value ProcessShellProvider#SUBREAPER_PROPERTY}, false if unset; the
     * {@code buildnet} command line sets it). As a subreaper, orphans of commands are re-parented
     * to this JVM, so finding what a command left behind costs a look at this JVM's children
     * only. The bit is JVM-wide and permanent: every process orphaned below this JVM, whoever
     * started it, then becomes this JVM's child (a daemon another library starts, Bazel's server
     * for one), and one that exits is reaped by BuildNet only when it next stops a command. So
     * an embedding host should switch it on only if it owns the JVM's processes. Without it,
     * detached processes are found by their mark among the pids handed out since the command
     * started, which costs about as much as the subreaper's look; the guarantee is the same.
     */
    public Builder subreaper(boolean on) {
      this.subreaper = on;
      return this;
    }

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

    /**
     * Keeps a record of running commands' processes in {@code dir} (a directory; created when
     * needed), so that what survives a {@code kill -9} of this JVM is killed by the next provider
     * built with the same directory. {@link #build()} does that killing first: for each record in
     * {@code dir} whose JVM is gone, every process still carrying one of its marks, or still
     * matching a recorded pid and start time, gets SIGKILL. Linux only; elsewhere a no-op.
     */
    public Builder recordIn(Path dir) {
      Objects.requireNonNull(dir, "dir");
      if (recordDir != null) {
        throw new IllegalStateException("record directory was already set to " + recordDir);
      }
      recordDir = dir;
      return this;
    }

    /** For tests: behave as if JNA could not be loaded (the degraded mode). */
    Builder withoutNativeCalls() {
      nativeCalls = false;
      return this;
    }

    /** For tests: behave as if the kernel had no pidfd (reader threads over the own pipes). */
    Builder withoutPidfd() {
      pidfd = false;
      return this;
    }

    /** For tests: start commands with ProcessBuilder even where posix_spawn could (the fallback). */
    Builder withoutPosixSpawn() {
      posixSpawn = false;
      return this;
    }

    public ProcessShellProvider build() {
      return new ProcessShellProvider(this);
    }
  }
}
