package dev.buildnet.internal.engine;

import dev.buildnet.internal.master.Dispatcher;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.bundle.Availability;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.CommandStartException;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.BuildOnce;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Does one target's work on a worker thread: computes its key, serves it from the cache if it can,
 * otherwise runs it (with retries) and records the result.
 */
public final class TargetRunner {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TargetRunner.class);
  private static final int MAX_ERROR_LINES = 20;

  private final Path workspace;
  private final KeyService keys;
  private final ActionCache cache;
  private final Outputs outputs;
  private final ShellProvider shell;
  private final Map<String, BundlerAdapter> bundlers;
  private final Clock clock;
  private final Duration retryBackoff;
  private final RemoteAttempt remote;
  private final int outputCapBytes;
  private volatile DeferredOutputs deferred; // null: deferred materialization is off
  private volatile java.util.Set<String> localCapabilities = java.util.Set.of();

  public TargetRunner(
      Path workspace,
      KeyService keys,
      ActionCache cache,
      Outputs outputs,
      ShellProvider shell,
      Map<String, BundlerAdapter> bundlers,
      Clock clock,
      Duration retryBackoff,
      int outputCapBytes) {
    this.workspace = workspace;
    this.keys = keys;
    this.cache = cache;
    this.outputs = outputs;
    this.shell = shell;
    this.bundlers = Map.copyOf(bundlers);
    this.clock = clock;
    this.retryBackoff = retryBackoff;
    this.outputCapBytes = outputCapBytes;
    this.remote = new RemoteAttempt(workspace, keys, cache, outputs, clock, outputCapBytes);
  }

  /** Turns on deferred materialization for attempts placed by {@code dispatcher}. */
  public void deferOutputs(Dispatcher dispatcher, java.util.Set<String> localCapabilities) {
    this.localCapabilities = java.util.Set.copyOf(localCapabilities);
    DeferredOutputs d = new DeferredOutputs(dispatcher, cache.blobs());
    this.deferred = d;
    remote.defer(d);
  }

  /**
   * Computes the key and serves a hit from the cache, on the calling thread; on a miss runs the
   * target here ({@code placement} null, on the calling thread) or on the placement's worker (the
   * future then completes on {@code executor} when the worker reports back, or fails with
   * {@link RemoteAttempt.Requeue} if the attempt should run elsewhere).
   */
  CompletableFuture<TargetOutcome> run(BuildRun run, Node node, long readyNanos,
      Dispatcher.Placement placement, Executor executor) throws IOException {
    BuildOnce.Turn[] turn = {BuildOnce.Turn.none()};
    CompletableFuture<TargetOutcome> outcome;
    try {
      outcome = run(run, node, readyNanos, placement, executor, turn);
    } catch (IOException | RuntimeException | Error e) {
      turn[0].close();
      throw e;
    }
    // Releases a build-once lease taken below once the outcome is known, however it ends.
    return outcome.whenComplete((o, e) -> turn[0].close());
  }

  private CompletableFuture<TargetOutcome> run(BuildRun run, Node node, long readyNanos,
      Dispatcher.Placement placement, Executor executor, BuildOnce.Turn[] turn)
      throws IOException {
    Target target = node.target;
    long start = System.nanoTime();
    Duration queueWait = Duration.ofNanos(Math.max(0, start - readyNanos));
    if (placement == null) {
      run.listener.targetStarted(run.buildId, target.name(), 1);
    } // a remote attempt reports its start, with its worker, once it is sent

    KeyService.Computed computed;
    try {
      computed = keys.compute(target, run.dependencyKeys(node), run.inputResolver(workspace));
    } catch (KeyService.InputException e) {
      return CompletableFuture.completedFuture(failed(node, queueWait, start, 0, -1,
          List.of(BuildError.of("INPUT", e.getMessage())), e.getMessage(), BuildMetrics.Phases.ZERO,
          0, null));
    }
    node.key = computed.key();

    if (target.cacheable() && !run.forced.contains(target.name())) {
      Optional<ActionManifest> hit = cache.lookup(computed.key());
      DeferredOutputs d = deferred;
      DeferredOutputs.Kept kept = hit.isEmpty() && d != null ? d.lookup(computed.key()) : null;
      if (kept != null && DeferredOutputs.mayDefer(run, target)) {
        // Still on the worker that kept it, and this build needs it nowhere yet: a hit that
        // leaves the outputs there. (Consumers fetch them, or run the target again if lost.)
        try {
          outputs.clear(target.outputs());
        } catch (Outputs.OutputException e) {
          return CompletableFuture.completedFuture(failed(node, queueWait, start, 0, -1,
              List.of(BuildError.of("OUTPUT", e.getMessage())), e.getMessage(),
              BuildMetrics.Phases.ZERO, computed.filesChecked(), null));
        }
        node.kept = kept;
        keys.recordOutcome(target.name(), computed, true);
        if (placement != null) {
          run.listener.targetStarted(run.buildId, target.name(), 1);
        }
        return CompletableFuture.completedFuture(cached(target, computed, kept.manifest, queueWait, start,
            "cached; its outputs stay on worker '" + kept.workerId + "' until needed"));
      }
      if (kept != null && d.fetch(kept)) {
        // Needed here now (requested, or read as an input): fetched, it is an ordinary hit.
        cache.record(computed.key(), kept.manifest);
        d.forget(computed.key());
        hit = cache.lookup(computed.key());
      }
      if (hit.isEmpty()) {
        // With build-once, waits while a peer master builds this key, then takes its result.
        turn[0] = cache.claim(computed.key(), run::isCancelled);
        hit = turn[0].peerResult();
      }
      boolean restored;
      try {
        restored = hit.isPresent() && materialize(target, hit.get());
      } catch (Outputs.OutputException e) {
        // Running it would write through the same link: the target fails instead.
        return CompletableFuture.completedFuture(failed(node, queueWait, start, 0, -1,
            List.of(BuildError.of("OUTPUT", e.getMessage())), e.getMessage(),
            BuildMetrics.Phases.ZERO, computed.filesChecked(), null));
      }
      if (restored) {
        keys.recordOutcome(target.name(), computed, true);
        if (placement != null) {
          run.listener.targetStarted(run.buildId, target.name(), 1);
        }
        replay(run, target.name(), hit.get());
        return CompletableFuture.completedFuture(cached(target, computed, hit.get(), queueWait, start,
            "restored from the cache"));
      }
    }
    keys.recordOutcome(target.name(), computed, false);
    if (placement != null) {
      return remote.run(run, node, computed, placement, queueWait, start, executor);
    }
    String lost = materializeDependencies(run, node);
    if (lost != null) {
      return CompletableFuture.completedFuture(failed(node, queueWait, start, 0, -1,
          List.of(BuildError.of("INPUT", lost)), lost, BuildMetrics.Phases.ZERO,
          computed.filesChecked(), null));
    }
    Duration pre = Duration.ofNanos(System.nanoTime() - start);
    return CompletableFuture.completedFuture(execute(run, node, computed, queueWait, start, pre));
  }

  private static TargetOutcome cached(Target target, KeyService.Computed computed, ActionManifest m,
      Duration queueWait, long start, String reason) {
    long end = System.nanoTime();
    BuildMetrics metrics =
        new BuildMetrics(
            queueWait,
            Duration.ofNanos(end - start),
            new BuildMetrics.Phases(Duration.ofNanos(end - start), Duration.ZERO, Duration.ZERO),
            new BuildMetrics.Cache(
                computed.filesChecked(), 1, 0, Duration.ofMillis(m.durationMillis())),
            BuildMetrics.Resources.ZERO);
    return new TargetOutcome(target.name(), Status.CACHED, reason,
        computed.key().toString(), 0, 0, Duration.ofNanos(end - start), artifacts(m), List.of(),
        metrics);
  }

  /**
   * Before a target runs here: restores into the workspace the outputs its dependencies' workers
   * kept (deferred materialization), fetching them into the store first. A dependency whose worker
   * is gone runs again here. Returns why that failed, or null.
   */
  private String materializeDependencies(BuildRun run, Node node) throws IOException {
    for (Node dep : node.dependencies) {
      DeferredOutputs.Kept k = dep.kept;
      if (k == null || k.materialized) {
        continue;
      }
      synchronized (dep) {
        k = dep.kept;
        if (k.materialized) {
          continue;
        }
        DeferredOutputs d = deferred;
        if (d != null && d.fetch(k)) {
          try {
            outputs.clear(dep.target.outputs());
            if (!outputs.restore(k.manifest)) {
              return "the outputs of '" + dep.name() + "' fetched from worker '" + k.workerId
                  + "' failed verification";
            }
          } catch (Outputs.OutputException e) {
            return e.getMessage();
          }
          if (dep.target.cacheable() && dep.key != null) {
            cache.record(dep.key, k.manifest);
            d.forget(dep.key);
          }
          k.materialized = true;
          continue;
        }
        // Its worker is gone with the outputs: run it again here, after its own dependencies.
        LOG.warn("build {}: the outputs of '{}' were lost with worker '{}' before they were needed;"
            + " running '{}' again here", run.buildId, dep.name(), k.workerId, dep.name());
        if (d != null && dep.key != null) {
          d.forget(dep.key);
        }
        if (!localCapabilities.containsAll(dep.target.requiredCapabilities())
            || dep.target.bundler().isPresent() && !bundlers.containsKey(dep.target.bundler().get().adapter())) {
          return "the outputs of '" + dep.name() + "' were lost with worker '" + k.workerId
              + "' before they were needed, and this machine cannot run it again (it requires "
              + dep.target.requiredCapabilities() + "); build again";
        }
        String lost = materializeDependencies(run, dep);
        if (lost != null) {
          return lost;
        }
        KeyService.Computed computed;
        try {
          computed = keys.compute(dep.target, run.dependencyKeys(dep), run.inputResolver(workspace));
        } catch (KeyService.InputException e) {
          return "the outputs of '" + dep.name() + "' were lost with their worker and it cannot"
              + " run again: " + e.getMessage();
        }
        if (!computed.key().equals(dep.key)) {
          return "the outputs of '" + dep.name() + "' were lost with their worker, and its inputs"
              + " changed while the build ran; build again";
        }
        TargetOutcome again = execute(run, dep, computed, Duration.ZERO, System.nanoTime(),
            Duration.ZERO);
        if (again.status() != Status.BUILT) {
          return "'" + dep.name() + "' ran again here because its outputs were lost with worker '"
              + k.workerId + "', and failed: " + again.reason();
        }
        DeferredOutputs.Kept here = new DeferredOutputs.Kept(k.workerId, manifestOf(workspace, dep, again));
        here.materialized = true;
        dep.kept = here;
      }
    }
    return null;
  }

  /** The outputs of a local run, as consumers of a re-run dependency read them. */
  private static ActionManifest manifestOf(Path workspace, Node node, TargetOutcome o) {
    List<ActionManifest.Output> files = new ArrayList<>();
    for (Artifact a : o.artifacts()) {
      files.add(new ActionManifest.Output(a.path(), a.digest().toString(), a.sizeBytes(),
          java.nio.file.Files.isExecutable(workspace.resolve(a.path()))));
    }
    return new ActionManifest(ActionManifest.VERSION, node.name(), files, List.of(), null, null,
        0, 0, 0);
  }

  private boolean materialize(Target target, ActionManifest m) throws IOException {
    if (!declares(target, m)) {
      // A record from shared state naming other paths than the target's: never restore it; the
      // run below records a correct one over it.
      LOG.warn("ignoring the cache record of '{}': it names outputs {} and directories {}, but"
          + " the target declares {}", target.name(), m.outputs().stream()
          .map(ActionManifest.Output::path).toList(), m.directories(), target.outputs());
      return false;
    }
    outputs.requireInside(target.outputs());
    return outputs.upToDate(m, keys.digester()) || outputs.restore(m);
  }

  /** Whether every path of {@code m} is a declared output of {@code target} or lies in one. */
  private static boolean declares(Target target, ActionManifest m) {
    for (String dir : m.directories()) {
      if (!target.outputs().contains(dir)) {
        return false;
      }
    }
    for (ActionManifest.Output o : m.outputs()) {
      if (target.outputs().stream()
          .noneMatch(d -> o.path().equals(d) || o.path().startsWith(d + "/"))) {
        return false;
      }
    }
    return true;
  }

  private TargetOutcome execute(
      BuildRun run, Node node, KeyService.Computed computed, Duration queueWait, long start,
      Duration pre) throws IOException {
    Target target = node.target;
    int attempts = 0;
    Attempt last = null;
    long buildStart = System.nanoTime();
    while (attempts <= target.retries()) {
      if (run.isCancelled()) {
        break;
      }
      attempts++;
      if (attempts > 1) {
        run.listener.targetStarted(run.buildId, target.name(), attempts);
        if (!backoff(node, attempts)) {
          break;
        }
      }
      try {
        outputs.clear(target.outputs());
      } catch (Outputs.OutputException e) {
        return failed(node, queueWait, start, attempts, -1,
            List.of(BuildError.of("OUTPUT", e.getMessage())), e.getMessage(),
            new BuildMetrics.Phases(pre, Duration.ZERO, Duration.ZERO), computed.filesChecked(),
            null);
      }
      last = target.bundler().isPresent() ? bundle(run, node, computed)
          : command(run, node, computed);
      if (last.success || last.cancelled || !target.retryable()) {
        break;
      }
    }
    long buildEnd = System.nanoTime();
    Duration buildTime = Duration.ofNanos(buildEnd - buildStart);
    if (last == null || last.cancelled) {
      return BuildRun.outcome(node, Status.CANCELLED, "the build was cancelled");
    }
    if (!last.success) {
      return failed(node, queueWait, start, attempts, last.exitCode, last.errors,
          last.errors.isEmpty() ? "failed" : last.errors.get(0).toString(),
          new BuildMetrics.Phases(pre, buildTime, Duration.ZERO), computed.filesChecked(), last);
    }
    // --no-cache: neither read (forced, above) nor written; outputs are then only digested.
    boolean keep = target.cacheable() && !run.unrecorded.contains(target.name());
    Outputs.Collected collected;
    try {
      collected = outputs.collect(target.outputs(), keep);
    } catch (Outputs.OutputException e) {
      return failed(node, queueWait, start, attempts, last.exitCode,
          List.of(BuildError.of("OUTPUT", e.getMessage())), e.getMessage(),
          new BuildMetrics.Phases(pre, buildTime, Duration.ZERO), computed.filesChecked(), last);
    }
    String stdout = !keep || last.stdout.length == 0 ? null
        : cache.blobs().putBytes(last.stdout).toString();
    String stderr = !keep || last.stderr.length == 0 ? null
        : cache.blobs().putBytes(last.stderr).toString();
    ActionManifest manifest =
        new ActionManifest(ActionManifest.VERSION, target.name(), collected.files(),
            collected.directories(), stdout, stderr, last.exitCode, buildTime.toMillis(),
            clock.millis());
    if (keep) {
      cache.record(computed.key(), manifest);
    }
    long end = System.nanoTime();
    Duration post = Duration.ofNanos(end - buildEnd);
    double cpuPercent = buildTime.isZero() ? 0
        : last.cpuTime.toNanos() * 100.0 / buildTime.toNanos();
    BuildMetrics metrics =
        new BuildMetrics(queueWait, Duration.ofNanos(end - start),
            new BuildMetrics.Phases(pre, buildTime, post),
            new BuildMetrics.Cache(computed.filesChecked(), 0, keep ? 1 : 0, Duration.ZERO),
            new BuildMetrics.Resources(last.peakMemoryBytes, cpuPercent,
                inputBytes(computed), collected.totalBytes()));
    return new TargetOutcome(target.name(), Status.BUILT,
        attempts > 1 ? "built on attempt " + attempts : "built", computed.key().toString(),
        last.exitCode, attempts, Duration.ofNanos(end - start), artifacts(manifest), last.errors,
        metrics);
  }

  /** What one attempt did. */
  private static final class Attempt {
    boolean success;
    boolean cancelled;
    int exitCode = -1;
    byte[] stdout = new byte[0];
    byte[] stderr = new byte[0];
    List<BuildError> errors = List.of();
    Duration cpuTime = Duration.ZERO;
    long peakMemoryBytes;
  }

  private Attempt command(BuildRun run, Node node, KeyService.Computed computed) {
    Target target = node.target;
    Attempt a = new Attempt();
    List<String> argv =
        target.expandCommand(List.copyOf(computed.manifest().inputs().keySet()));
    CommandSpec spec =
        CommandSpec.of(argv, workspace.resolve(target.workingDirectory()).normalize(),
            keys.environment(target)).withOutputCap(outputCapBytes);
    if (target.timeout().isPresent()) {
      spec = spec.withTimeout(target.timeout().get());
    }
    RunningCommand rc;
    try {
      rc = shell.start(spec, (stream, line) ->
          run.listener.logLine(run.buildId, target.name(), stream, line, false));
    } catch (CommandStartException e) {
      a.errors = List.of(BuildError.of("START", e.getMessage()));
      return a;
    }
    node.execution = rc::cancel;
    if (run.isCancelled()) {
      rc.cancel(); // cancelled between dispatch and start
    }
    CommandResult r;
    try {
      r = rc.result().get();
    } catch (InterruptedException e) {
      rc.cancel();
      Thread.currentThread().interrupt();
      a.cancelled = true;
      return a;
    } catch (ExecutionException | CancellationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      String why = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      a.errors = List.of(BuildError.of("EXEC", "running '" + target.name() + "' failed: " + why));
      return a;
    }
    a.exitCode = r.exitCode();
    a.stdout = r.stdout();
    a.stderr = r.stderr();
    a.cpuTime = r.cpuTime();
    a.peakMemoryBytes = r.peakMemoryBytes();
    switch (r.outcome()) {
      case CANCELLED -> a.cancelled = true;
      case TIMED_OUT -> a.errors = List.of(BuildError.of("TIMEOUT",
          "'" + target.name() + "' timed out after " + target.timeout().orElseThrow()
              + " and its processes were killed"));
      case EXITED -> {
        a.success = r.exitCode() == 0;
        if (!a.success) {
          a.errors = List.of(BuildError.of("EXIT_CODE", "'" + target.name() + "' exited with "
              + r.exitCode() + tail(r.stderr(), r.stdout())));
        }
      }
    }
    return a;
  }

  private Attempt bundle(BuildRun run, Node node, KeyService.Computed computed) {
    Target target = node.target;
    Target.Bundler b = target.bundler().orElseThrow();
    Attempt a = new Attempt();
    BundlerAdapter adapter = bundlers.get(b.adapter());
    if (adapter == null) {
      a.errors = List.of(BuildError.of("BUNDLER", "no bundler adapter named '" + b.adapter()
          + "' is registered (known: " + bundlers.keySet() + ")"));
      return a;
    }
    Availability av = adapter.availability();
    if (!av.available()) {
      a.errors = List.of(BuildError.of("BUNDLER", b.adapter() + " is not available: " + av.reason()));
      return a;
    }
    Path cwd = workspace.resolve(target.workingDirectory()).normalize();
    BuildContext ctx =
        new BuildContext(run.buildId, target.name(), workspace, cwd, b.entrypoints(),
            workspace.resolve(b.outDir()).normalize(), keys.environment(target), b.options(),
            target.timeout().orElse(null));
    CountDownLatch cancelled = new CountDownLatch(1);
    node.execution = cancelled::countDown;
    BuildResult r = adapter.build(ctx);
    a.success = r.success();
    a.cancelled = cancelled.getCount() == 0 && !r.success();
    a.exitCode = r.success() ? 0 : 1;
    a.errors = r.errors();
    for (String w : r.warnings()) {
      run.listener.logLine(run.buildId, target.name(), OutputListener.Stream.STDERR, w, false);
    }
    for (BuildError e : r.errors()) {
      run.listener.logLine(run.buildId, target.name(), OutputListener.Stream.STDERR, e.toString(), false);
    }
    a.stderr = String.join("\n", r.warnings()).getBytes(StandardCharsets.UTF_8);
    a.peakMemoryBytes = r.metrics().resources().peakMemoryBytes();
    return a;
  }

  /** Sleeps before a retry; returns false if cancelled meanwhile. */
  private boolean backoff(Node node, int attempt) {
    long millis = Math.min(retryBackoff.toMillis() << Math.min(attempt - 2, 10), 30_000L);
    CountDownLatch cancelled = new CountDownLatch(1);
    node.execution = cancelled::countDown;
    try {
      return !cancelled.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void replay(BuildRun run, String target, ActionManifest m) throws IOException {
    replay(run, target, m.stdout(), OutputListener.Stream.STDOUT);
    replay(run, target, m.stderr(), OutputListener.Stream.STDERR);
  }

  private void replay(BuildRun run, String target, String digest, OutputListener.Stream stream)
      throws IOException {
    if (digest == null) {
      return;
    }
    Optional<byte[]> bytes = cache.blobs().readVerified(Digest.parse(digest));
    if (bytes.isEmpty()) {
      return; // a lost log never turns a hit into a failure
    }
    for (String line : new String(bytes.get(), StandardCharsets.UTF_8).split("\n", -1)) {
      if (!line.isEmpty()) {
        run.listener.logLine(run.buildId, target, stream, line, true);
      }
    }
  }

  /**
   * The bytes of the target's declared inputs: what a build step reads, give or take the tools it
   * loads. Computed only for targets that ran.
   */
  private long inputBytes(KeyService.Computed computed) {
    long total = 0;
    for (String input : computed.manifest().inputs().keySet()) {
      try {
        total += java.nio.file.Files.size(workspace.resolve(input));
      } catch (IOException e) {
        // deleted by the command itself; it still read it, but we can no longer tell how much
      }
    }
    return total;
  }

  static List<Artifact> artifacts(ActionManifest m) {
    List<Artifact> out = new ArrayList<>(m.outputs().size());
    for (ActionManifest.Output o : m.outputs()) {
      out.add(new Artifact(o.path(), o.size(), o.parsedDigest()));
    }
    return out;
  }

  private static String tail(byte[] stderr, byte[] stdout) {
    byte[] src = stderr.length > 0 ? stderr : stdout;
    if (src.length == 0) {
      return "";
    }
    String[] lines = new String(src, StandardCharsets.UTF_8).split("\n");
    int from = Math.max(0, lines.length - MAX_ERROR_LINES);
    return ":\n" + String.join("\n", Arrays.copyOfRange(lines, from, lines.length));
  }

  /** A failed outcome with no phases or resources measured (a remote attempt's). */
  static TargetOutcome failure(Node node, Duration queueWait, long start, int attempts,
      int exitCode, List<BuildError> errors, String reason) {
    return failed(node, queueWait, start, attempts, exitCode, errors, reason,
        BuildMetrics.Phases.ZERO, 0, null);
  }

  private static TargetOutcome failed(Node node, Duration queueWait, long start, int attempts,
      int exitCode, List<BuildError> errors, String reason, BuildMetrics.Phases phases,
      long filesChecked, Attempt last) {
    Duration total = Duration.ofNanos(System.nanoTime() - start);
    BuildMetrics metrics = new BuildMetrics(queueWait, total, phases,
        new BuildMetrics.Cache(filesChecked, 0, node.target.cacheable() ? 1 : 0, Duration.ZERO),
        new BuildMetrics.Resources(last == null ? 0 : last.peakMemoryBytes, 0, 0, 0));
    return new TargetOutcome(node.name(), Status.FAILED, reason,
        node.key == null ? null : node.key.toString(), exitCode, attempts, total, List.of(),
        errors, metrics);
  }
}
