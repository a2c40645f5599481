package dev.buildnet.internal.engine;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.internal.exec.TargetStep;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs a target the cache could not serve on this machine, on the calling thread: restores the
 * outputs its dependencies' workers kept (deferred materialization), runs it through the
 * {@link TargetStep} core it shares with Java workers (so both run commands and bundlers by one
 * rule) with the retries of the {@link AttemptPolicy}, then collects, stores and records its
 * outputs. Inputs need no materializing here: they are in the workspace.
 */
final class LocalExecution {
  private static final int MAX_ERROR_LINES = 20;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LocalExecution.class);

  private final Path workspace;
  private final KeyService keys;
  private final ActionCache cache;
  private final Outputs outputs;
  private final TargetStep step;
  private final int outputCapBytes;
  private final Clock clock;
  private final AttemptPolicy policy;
  private volatile DeferredOutputs deferred; // null: deferred materialization is off
  private volatile Set<String> localCapabilities = Set.of();

  LocalExecution(Path workspace, KeyService keys, ActionCache cache, Outputs outputs,
      ShellProvider shell, Map<String, BundlerAdapter> bundlers, int outputCapBytes, Clock clock,
      AttemptPolicy policy) {
    this.workspace = workspace;
    this.keys = keys;
    this.cache = cache;
    this.outputs = outputs;
    this.step = new TargetStep(shell, bundlers);
    this.outputCapBytes = outputCapBytes;
    this.clock = clock;
    this.policy = policy;
  }

  /** Turns on deferred materialization: kept outputs of dependencies are fetched before a run. */
  void defer(DeferredOutputs d, Set<String> localCapabilities) {
    this.localCapabilities = Set.copyOf(localCapabilities);
    this.deferred = d;
  }

  TargetOutcome run(Site.Miss miss) throws IOException {
    String lost = materializeDependencies(miss.run(), miss.node());
    if (lost != null) {
      return FailedOutcome.of(miss.node(), miss.queueWait(), miss.start())
          .filesChecked(miss.computed().filesChecked()).because("INPUT", lost);
    }
    Duration pre = Duration.ofNanos(System.nanoTime() - miss.start());
    return execute(miss, pre);
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
        String again = runAgain(run, dep, k, d);
        if (again != null) {
          return again;
        }
      }
    }
    return null;
  }

  /**
   * Runs {@code dep}, whose worker is gone with its outputs, again here, after its own
   * dependencies. Returns why that failed, or null. Under {@code dep}'s monitor.
   */
  private String runAgain(BuildRun run, Node dep, DeferredOutputs.Kept k, DeferredOutputs d)
      throws IOException {
    LOG.warn("build {}: the outputs of '{}' were lost with worker '{}' before they were needed;"
        + " running '{}' again here", run.buildId, dep.name(), k.workerId, dep.name());
    if (d != null && dep.key != null) {
      d.forget(dep.key);
    }
    if (!localCapabilities.containsAll(dep.target.requiredCapabilities())
        || dep.target.bundler().isPresent() && !step.hasBundler(dep.target.bundler().get().adapter())) {
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
      computed = keys.compute(dep.record, dep.target, run.dependencyKeys(dep),
          run.inputResolver(keys));
    } catch (KeyService.InputException e) {
      return "the outputs of '" + dep.name() + "' were lost with their worker and it cannot"
          + " run again: " + e.getMessage();
    }
    if (!computed.key().equals(dep.key)) {
      return "the outputs of '" + dep.name() + "' were lost with their worker, and its inputs"
          + " changed while the build ran; build again";
    }
    TargetOutcome again = execute(new Site.Miss(run, dep, computed, Duration.ZERO,
        System.nanoTime()), Duration.ZERO);
    if (again.status() != Status.BUILT) {
      return "'" + dep.name() + "' ran again here because its outputs were lost with worker '"
          + k.workerId + "', and failed: " + again.reason();
    }
    DeferredOutputs.Kept here = new DeferredOutputs.Kept(k.workerId, manifestOf(dep, again));
    here.materialized = true;
    dep.kept = here;
    return null;
  }

  /** The outputs of a local run, as consumers of a re-run dependency read them. */
  private ActionManifest manifestOf(Node node, TargetOutcome o) {
    List<ActionManifest.Output> files = new ArrayList<>();
    for (Artifact a : o.artifacts()) {
      files.add(new ActionManifest.Output(a.path(), a.digest().toString(), a.sizeBytes(),
          Files.isExecutable(workspace.resolve(a.path()))));
    }
    return new ActionManifest(ActionManifest.VERSION, node.name(), files, List.of(), null, null,
        0, 0, 0);
  }

  /** Runs the target with retries, then collects, stores and records its outputs. */
  private TargetOutcome execute(Site.Miss miss, Duration pre) throws IOException {
    BuildRun run = miss.run();
    Node node = miss.node();
    Target target = node.target;
    KeyService.Computed computed = miss.computed();
    int attempts = 0;
    Attempt last = null;
    long buildStart = System.nanoTime();
    while (true) {
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
        return FailedOutcome.of(node, miss.queueWait(), miss.start()).attempts(attempts)
            .phases(new BuildMetrics.Phases(pre, Duration.ZERO, Duration.ZERO))
            .filesChecked(computed.filesChecked()).because("OUTPUT", e.getMessage());
      }
      last = attempt(run, node, computed);
      if (last.success || last.cancelled || !policy.retriesAfterFailure(target, attempts)) {
        break;
      }
    }
    long buildEnd = System.nanoTime();
    Duration buildTime = Duration.ofNanos(buildEnd - buildStart);
    if (last == null || last.cancelled) {
      return BuildRun.outcome(node, Status.CANCELLED, "the build was cancelled");
    }
    FailedOutcome failed = FailedOutcome.of(node, miss.queueWait(), miss.start())
        .attempts(attempts).exitCode(last.exitCode)
        .phases(new BuildMetrics.Phases(pre, buildTime, Duration.ZERO))
        .filesChecked(computed.filesChecked()).peakMemoryBytes(last.peakMemoryBytes);
    if (!last.success) {
      return failed.because(last.errors,
          last.errors.isEmpty() ? "failed" : last.errors.get(0).toString());
    }
    // --no-cache: neither read (forced, above) nor written; outputs are then only digested.
    boolean keep = target.cacheable() && !run.unrecorded.contains(target.name());
    Outputs.Collected collected;
    try {
      collected = outputs.collect(target.outputs(), keep);
    } catch (Outputs.OutputException e) {
      return failed.because("OUTPUT", e.getMessage());
    }
    String stdout = !keep || last.stdout.length == 0 ? null
        : cache.blobs().putBytes(last.stdout).toString();
    String stderr = !keep || last.stderr.length == 0 ? null
        : cache.blobs().putBytes(last.stderr).toString();
    ActionManifest manifest =
        new ActionManifest(ActionManifest.VERSION, target.name(), collected.files(),
            collected.directories(), stdout, stderr, last.exitCode, buildTime.toMillis(),
            clock.millis());
    node.outputs = keys.outputDigest(manifest);
    if (keep && !BuildRun.consumesWhatItWasKeyedFrom(node, computed.manifest())) {
      LOG.warn("build {}: a dependency of '{}' ran again and produced other outputs than its key"
          + " was computed from; its result is not cached", run.buildId, target.name());
    } else if (keep) {
      cache.record(computed.key(), manifest);
    }
    long end = System.nanoTime();
    Duration post = Duration.ofNanos(end - buildEnd);
    double cpuPercent = buildTime.isZero() ? 0
        : last.cpuTime.toNanos() * 100.0 / buildTime.toNanos();
    BuildMetrics metrics =
        new BuildMetrics(miss.queueWait(), Duration.ofNanos(end - miss.start()),
            new BuildMetrics.Phases(pre, buildTime, post),
            new BuildMetrics.Cache(computed.filesChecked(), 0, keep ? 1 : 0, Duration.ZERO),
            new BuildMetrics.Resources(last.peakMemoryBytes, cpuPercent,
                inputBytes(computed), collected.totalBytes()));
    return new TargetOutcome(target.name(), Status.BUILT,
        (attempts > 1 ? "built on attempt " + attempts : "built")
            + (node.keptLost != null ? "; ran again because " + node.keptLost : ""),
        computed.key().toString(),
        last.exitCode, attempts, Duration.ofNanos(end - miss.start()),
        TargetRunner.artifacts(manifest), last.errors, metrics);
  }

  /** What one attempt did, phrased for the target's outcome. */
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

  /** Runs the target once through the shared {@link TargetStep}, cancellable by its build. */
  private Attempt attempt(BuildRun run, Node node, KeyService.Computed computed) {
    Target target = node.target;
    TargetStep.Cancel cancel = new TargetStep.Cancel();
    node.execution = () -> cancel.cancel("the build was cancelled");
    if (run.isCancelled()) {
      cancel.cancel("the build was cancelled"); // cancelled between dispatch and start
    }
    TargetStep.Lines lines = (stream, line) ->
        run.listener.logLine(run.buildId, target.name(), stream, line, false);
    return phrase(target, step.run(spec(run, target, computed), lines, cancel));
  }

  private TargetStep.Spec spec(BuildRun run, Target target, KeyService.Computed computed) {
    Path cwd = workspace.resolve(target.workingDirectory()).normalize();
    TargetStep.Bundle bundle = target.bundler().map(b -> new TargetStep.Bundle(b.adapter(),
        b.entrypoints(), workspace.resolve(b.outDir()).normalize(), b.options())).orElse(null);
    List<String> argv = bundle != null ? List.of()
        : target.expandCommand(List.copyOf(computed.manifest().inputs().keySet()));
    return new TargetStep.Spec(run.buildId, target.name(), workspace, cwd, argv,
        keys.environment(target), target.timeout().orElse(null), outputCapBytes, bundle);
  }

  /** The step's result as this target's errors: what a local build has always reported. */
  private Attempt phrase(Target target, TargetStep.Result r) {
    Attempt a = new Attempt();
    a.exitCode = r.exitCode();
    a.stdout = r.stdout();
    a.stderr = r.stderr();
    a.cpuTime = r.cpuTime();
    a.peakMemoryBytes = r.peakMemoryBytes();
    a.errors = r.errors();
    String name = target.name();
    switch (r.outcome()) {
      case SUCCEEDED -> a.success = true;
      case CANCELLED -> a.cancelled = true;
      case TIMED_OUT -> a.errors = List.of(BuildError.of("TIMEOUT", "'" + name + "' timed out after "
          + target.timeout().orElseThrow() + " and its processes were killed"));
      case FAILED -> {
        if (target.bundler().isEmpty()) {
          a.errors = List.of(BuildError.of("EXIT_CODE", "'" + name + "' exited with "
              + r.exitCode() + tail(r.stderr(), r.stdout())));
        }
      }
      case NOT_STARTED -> a.errors = List.of(target.bundler().isEmpty()
          ? BuildError.of("START", r.problem())
          : BuildError.of("BUNDLER", r.problem() == null
              ? "no bundler adapter named '" + target.bundler().get().adapter()
                  + "' is registered (known: " + step.bundlerNames() + ")"
              : target.bundler().get().adapter() + " is not available: " + r.problem()));
      case BROKEN -> a.errors = List.of(BuildError.of("EXEC", "running '" + name + "' failed: "
          + r.problem()));
    }
    return a;
  }

  /** Sleeps before a retry; returns false if cancelled meanwhile. */
  private boolean backoff(Node node, int attempt) {
    CountDownLatch cancelled = new CountDownLatch(1);
    node.execution = cancelled::countDown;
    try {
      return !cancelled.await(policy.backoffMillis(attempt), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
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
        total += Files.size(workspace.resolve(input));
      } catch (IOException e) {
        // deleted by the command itself; it still read it, but we can no longer tell how much
      }
    }
    return total;
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
}
