package dev.buildnet.internal.exec;

import dev.buildnet.api.NotStartedException;
import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs one target's work, its argv through a {@link ShellProvider} or its bundler adapter, in a
 * directory whose inputs are in place: the core that a master running a target itself and a Java
 * worker running it in a sandbox share, so timeouts, output caps, cancellation and bundler
 * diagnostics follow one rule on both. Each caller puts the inputs in place before and collects
 * the outputs after (the workspace and the sandbox differ there), and phrases the {@link Result}
 * for its audience (a target's outcome, or a BUILD_FAILED to the master).
 *
 * <p>Internal to BuildNet (used by {@code dev.buildnet.internal.engine} and {@code dev.buildnet.internal.worker}); not an
 * API. Thread-safe; {@link #run} blocks until the work has ended.
 */
public final class TargetStep {
  private final ShellProvider shell;
  private final Map<String, BundlerAdapter> bundlers;

  public TargetStep(ShellProvider shell, Map<String, BundlerAdapter> bundlers) {
    this.shell = Objects.requireNonNull(shell, "shell");
    this.bundlers = Map.copyOf(bundlers);
  }

  /** Whether a bundler adapter named {@code name} is registered (usable or not). */
  public boolean hasBundler(String name) {
    return bundlers.containsKey(name);
  }

  /** The registered bundler adapters' names, for a message. */
  public java.util.Set<String> bundlerNames() {
    return bundlers.keySet();
  }

  /**
   * What to run.
   *
   * @param root the workspace or sandbox the paths are in
   * @param argv the expanded command; ignored when {@code bundle} is set
   * @param timeout null: none
   * @param outputCap bytes of each stream the result keeps; null: the shell's default
   * @param bundle the bundler to run instead of {@code argv}, or null
   */
  public record Spec(String buildId, String target, Path root, Path cwd, List<String> argv,
      Map<String, String> env, Duration timeout, Integer outputCap, Bundle bundle) {}

  /** A bundler step: the adapter's name and its settings. */
  public record Bundle(String adapter, List<String> entrypoints, Path outDir,
      Map<String, String> options) {}

  /** Where the step's output goes while it runs. */
  public interface Lines extends OutputListener {
    /** A bundler's warning or error, as it reported it (it may span lines); stderr by default. */
    default void diagnostic(String text) {
      onLine(Stream.STDERR, text);
    }
  }

  /** How a step ended. */
  public enum Outcome {
    /** The command exited 0, or the bundler succeeded. */
    SUCCEEDED,
    /** The command exited non-zero, or the bundler reported errors. */
    FAILED,
    TIMED_OUT,
    CANCELLED,
    /** It never ran: the command could not start, or the bundler is unknown or unusable. */
    NOT_STARTED,
    /** Waiting for the command failed inside the shell provider ({@link Result#problem}). */
    BROKEN
  }

  /**
   * How the step ended and what it left. {@code problem}: why it did not start (the start
   * failure, or the bundler's unavailability, null for an unknown bundler) or the shell's failure;
   * {@code errors}: the bundler's diagnostics.
   */
  public record Result(Outcome outcome, int exitCode, byte[] stdout, byte[] stderr,
      Duration cpuTime, long peakMemoryBytes, List<BuildError> errors, String problem) {
    static Result of(Outcome outcome, String problem) {
      return new Result(outcome, -1, new byte[0], new byte[0], Duration.ZERO, 0, List.of(),
          problem);
    }

    public boolean succeeded() {
      return outcome == Outcome.SUCCEEDED;
    }
  }

  /**
   * Runs {@code spec} to its end. A {@link Cancel} that fires before it starts keeps it from
   * starting; one that fires while it runs kills the command's process tree, or interrupts the
   * bundler (adapters stop their tool when interrupted). With BuildNet's process provider the
   * calling thread, which would only wait, reads the command's output and sees its exit itself
   * (the listener is called on it; see {@code ProcessShellProvider.run}); an interrupt of it
   * cancels the command as a {@link Cancel} does, and this returns once the command's root has
   * gone. A virtual thread, or another provider, waits for the result instead.
   *
   * @throws RuntimeException if the shell provider fails to start the command for another reason
   *     than a {@link NotStartedException} with reason {@code COMMAND}, or the bundler adapter
   *     throws
   */
  public Result run(Spec spec, Lines lines, Cancel cancel) {
    String outside = cwdOutsideRoot(spec);
    if (outside != null) {
      return Result.of(Outcome.NOT_STARTED, outside);
    }
    return spec.bundle() != null ? bundle(spec, lines, cancel) : command(spec, lines, cancel);
  }

  /**
   * Why {@code spec}'s working directory is refused, or null: one reached through a symbolic link
   * that leads outside the root (the workspace, or a worker's sandbox) would let a command run,
   * and write, outside it, as declared outputs may not (docs/WORKSPACE.md). A missing directory
   * is left to the shell, which reports it.
   */
  static String cwdOutsideRoot(Spec spec) {
    Path cwd = spec.cwd();
    if (cwd.equals(spec.root())) {
      return null; // the usual case, and a root that is itself a link is the root: no look-up
    }
    try {
      Path real = cwd.toRealPath();
      if (real.startsWith(spec.root().toRealPath())) {
        return null;
      }
      String relative = spec.root().relativize(cwd).toString().replace('\\', '/');
      return "the working directory '" + relative + "' leads outside the workspace through a"
          + " symbolic link (to " + real + "); the command was not run";
    } catch (java.io.IOException e) {
      return null; // missing (or gone meanwhile): the shell reports it
    }
  }


  private Result command(Spec spec, Lines lines, Cancel cancel) {
    if (cancel.isCancelled()) {
      return Result.of(Outcome.CANCELLED, null);
    }
    RunningCommand rc;
    ProcessRun onCaller;
    try {
      // This thread would only wait for the result: where the shell can, it runs the command's
      // loop itself (as ProcessShellProvider.run does), so no thread of the shell's wakes for it
      // and the result is not handed back from one.
      CommandSpec cs = commandSpec(spec);
      onCaller = CallerDriven.start(shell, cs, lines);
      rc = onCaller != null ? onCaller : shell.start(cs, lines);
    } catch (NotStartedException e) {
      return notStarted(e);
    }
    if (!cancel.attach(rc::cancel)) {
      rc.cancel(); // cancelled while it started; its result below says so
    }
    CommandResult r;
    try {
      if (onCaller != null) {
        // A cancel stops the tree, whose exit ends the loop; an interrupt cancels too (see
        // drive) and is then seen by get() below, as it was while this thread only waited.
        CallerDriven.drive(onCaller);
      }
      r = rc.result().get();
    } catch (InterruptedException e) {
      rc.cancel();
      Thread.currentThread().interrupt();
      return Result.of(Outcome.CANCELLED, null);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
      return broken(e);
    } finally {
      cancel.detach();
    }
    return result(r);
  }

  /**
   * Starts {@code spec}'s command (not a bundler) and returns without waiting for it: the future
   * completes with the same result {@link #run} would have returned, on the thread that ends the
   * command (the caller's, before this returns, if the shell finished it while starting it).
   * Cancellation works as with {@link #run}.
   *
   * @throws IllegalArgumentException if {@code spec} is a bundler step
   * @throws RuntimeException as {@link #run} does for a shell that fails to start the command
   */
  public java.util.concurrent.CompletableFuture<Result> startCommand(Spec spec, Lines lines,
      Cancel cancel) {
    if (spec.bundle() != null) {
      throw new IllegalArgumentException("a bundler step runs only through run()");
    }
    if (cancel.isCancelled()) {
      return java.util.concurrent.CompletableFuture.completedFuture(Result.of(Outcome.CANCELLED, null));
    }
    String outside = cwdOutsideRoot(spec);
    if (outside != null) {
      return java.util.concurrent.CompletableFuture.completedFuture(
          Result.of(Outcome.NOT_STARTED, outside));
    }
    RunningCommand rc;
    try {
      rc = shell.start(commandSpec(spec), lines);
    } catch (NotStartedException e) {
      return java.util.concurrent.CompletableFuture.completedFuture(notStarted(e));
    }
    if (!cancel.attach(rc::cancel)) {
      rc.cancel(); // cancelled while it started; its result says so
    }
    return rc.result().handle((r, e) -> {
      cancel.detach();
      return e != null ? broken(e) : result(r);
    });
  }

  private static CommandSpec commandSpec(Spec spec) {
    CommandSpec cs = CommandSpec.of(spec.argv(), spec.cwd(), spec.env());
    if (spec.outputCap() != null) {
      cs = cs.withOutputCap(spec.outputCap());
    }
    if (spec.timeout() != null) {
      cs = cs.withTimeout(spec.timeout());
    }
    return cs;
  }

  private static Result notStarted(NotStartedException e) {
    if (e.reason() != NotStartedException.Reason.COMMAND) {
      throw e;
    }
    return Result.of(Outcome.NOT_STARTED, e.getMessage());
  }

  /** A shell whose wait failed: BROKEN with the underlying cause's message. */
  private static Result broken(Throwable e) {
    Throwable cause = (e instanceof java.util.concurrent.ExecutionException
        || e instanceof java.util.concurrent.CompletionException) && e.getCause() != null
        ? e.getCause() : e;
    return Result.of(Outcome.BROKEN,
        cause.getMessage() != null ? cause.getMessage() : cause.toString());
  }

  private static Result result(CommandResult r) {
    Outcome outcome = switch (r.outcome()) {
      case CANCELLED -> Outcome.CANCELLED;
      case TIMED_OUT -> Outcome.TIMED_OUT;
      case EXITED -> r.exitCode() == 0 ? Outcome.SUCCEEDED : Outcome.FAILED;
    };
    return new Result(outcome, r.exitCode(), r.stdout(), r.stderr(), r.cpuTime(),
        r.peakMemoryBytes(), List.of(), null);
  }

  private Result bundle(Spec spec, Lines lines, Cancel cancel) {
    Bundle b = spec.bundle();
    BundlerAdapter adapter = bundlers.get(b.adapter());
    if (adapter == null) {
      return Result.of(Outcome.NOT_STARTED, null);
    }
    if (!adapter.isAvailable()) {
      return Result.of(Outcome.NOT_STARTED, adapter.availability().reason());
    }
    BuildContext context = new BuildContext(spec.buildId(), spec.target(), spec.root(),
        spec.cwd(), b.entrypoints(), b.outDir(), spec.env(),
        b.options() == null ? Map.of() : b.options(), spec.timeout());
    Thread self = Thread.currentThread();
    if (!cancel.attach(self::interrupt)) {
      return Result.of(Outcome.CANCELLED, null);
    }
    BuildResult r;
    try {
      r = adapter.build(context);
    } finally {
      cancel.detach();
      Thread.interrupted(); // a cancel's interrupt must not leak into the thread's next work
    }
    for (String w : r.warnings()) {
      lines.diagnostic(w);
    }
    for (BuildError e : r.errors()) {
      lines.diagnostic(e.toString());
    }
    Outcome outcome = r.success() ? Outcome.SUCCEEDED
        : cancel.isCancelled() ? Outcome.CANCELLED : Outcome.FAILED;
    return new Result(outcome, r.success() ? 0 : 1, new byte[0],
        String.join("\n", r.warnings()).getBytes(StandardCharsets.UTF_8), Duration.ZERO,
        r.metrics().resources().peakMemoryBytes(), r.errors(), null);
  }

  /**
   * Cancels one step, from any thread, at any time: before it starts (it then never starts),
   * while it runs, or after (nothing happens).
   */
  public static final class Cancel {
    private Runnable stop; // guarded by this: stops the running work
    private String reason; // guarded by this

    /**
     * Stops the step; the first reason wins. Idempotent. The stop runs under this monitor, so an
     * interrupt can never reach a thread that has {@link #detach detached} and moved on.
     */
    public synchronized void cancel(String why) {
      if (reason == null) {
        reason = Objects.requireNonNull(why, "why");
      }
      if (stop != null) {
        stop.run();
      }
    }

    public synchronized boolean isCancelled() {
      return reason != null;
    }

    /** Why it was cancelled, or null. */
    public synchronized String reason() {
      return reason;
    }

    /** Registers how to stop the running work; false if it was cancelled already. */
    synchronized boolean attach(Runnable s) {
      if (reason != null) {
        return false;
      }
      stop = s;
      return true;
    }

    synchronized void detach() {
      stop = null;
    }
  }
}
