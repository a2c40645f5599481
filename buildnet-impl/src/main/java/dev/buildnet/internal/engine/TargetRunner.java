package dev.buildnet.internal.engine;

import dev.buildnet.internal.master.Dispatcher;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.OutputListener;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Does one target's work on an engine thread: computes its key and serves it from the cache if it
 * can; otherwise hands it to the {@link Site.Claim} the engine placed it with, which runs it here
 * ({@link LocalExecution}) or on a worker ({@link RemoteAttempt}) with the retries of the shared
 * {@link AttemptPolicy}.
 */
public final class TargetRunner {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TargetRunner.class);

  private final Path workspace;
  private final KeyService keys;
  private final ActionCache cache;
  private final Outputs outputs;
  private final AttemptPolicy policy;
  private final LocalExecution local;
  private final RemoteAttempt remote;
  private volatile DeferredOutputs deferred; // null: deferred materialization is off

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
    this.policy = new AttemptPolicy(retryBackoff);
    this.local = new LocalExecution(workspace, keys, cache, outputs, shell, bundlers,
        outputCapBytes, clock, policy);
    this.remote = new RemoteAttempt(workspace, keys, cache, outputs, clock, outputCapBytes);
  }

  /** Writes the explain records of the targets served so far (see {@link KeyService#flush}). */
  void flushRecords() {
    keys.flush();
  }

  /** The retry rules of both sites' attempts. */
  AttemptPolicy policy() {
    return policy;
  }

  /** The site "this machine", running its targets through this runner. */
  public LocalSlots localSite(Slots slots, Set<String> capabilities) {
    return new LocalSlots(slots, capabilities, local);
  }

  /** The site "{@code dispatcher}'s workers"; {@code here} only explains what waits. */
  public RemoteWorkers remoteSite(Dispatcher dispatcher, Duration placementTimeout, LocalSlots here) {
    return new RemoteWorkers(dispatcher, placementTimeout, remote, here);
  }

  /**
   * Turns on deferred materialization for attempts placed by {@code dispatcher}; {@code state}
   * remembers which worker keeps what across restarts of this master.
   */
  public void deferOutputs(Dispatcher dispatcher, Set<String> localCapabilities,
      dev.buildnet.api.state.StateBackend state) {
    DeferredOutputs d = new DeferredOutputs(dispatcher, cache.blobs(), state);
    this.deferred = d;
    local.defer(d, localCapabilities);
    remote.defer(d);
  }

  /**
   * Computes the key and serves a hit from the cache, on the calling thread; on a miss runs the
   * target on the site of {@code claim} (see {@link Site.Claim#run}).
   */
  CompletableFuture<TargetOutcome> run(BuildRun run, Node node, long readyNanos, Site.Claim claim,
      Executor executor) throws IOException {
    BuildOnce.Turn[] turn = {BuildOnce.Turn.none()};
    CompletableFuture<TargetOutcome> outcome;
    try {
      outcome = run(run, node, readyNanos, claim, executor, turn);
    } catch (IOException | RuntimeException | Error e) {
      turn[0].close();
      throw e;
    }
    // Releases a build-once lease taken below once the outcome is known, however it ends. No
    // lease was taken (the remote path, an uncacheable target): closing the shared none() turn
    // does nothing, so no dependent future is made for it.
    if (turn[0] == BuildOnce.Turn.none()) {
      return outcome;
    }
    return outcome.whenComplete((o, e) -> turn[0].close());
  }

  private CompletableFuture<TargetOutcome> run(BuildRun run, Node node, long readyNanos,
      Site.Claim claim, Executor executor, BuildOnce.Turn[] turn) throws IOException {
    Target target = node.target;
    long start = System.nanoTime();
    Duration queueWait = Duration.ofNanos(Math.max(0, start - readyNanos));
    if (claim.startsAtOnce()) {
      run.listener.targetStarted(run.buildId, target.name(), 1);
    }
    KeyService.Computed computed;
    try {
      computed = keys.compute(node.record, target, run.dependencyKeys(node),
          run.inputResolver(keys));
    } catch (KeyService.InputException e) {
      return CompletableFuture.completedFuture(
          FailedOutcome.of(node, queueWait, start).because("INPUT", e.getMessage()));
    }
    node.key = computed.key();
    Site.Miss miss = new Site.Miss(run, node, computed, queueWait, start);
    if (target.cacheable() && !run.forced.contains(target.name())) {
      // A remote claim's start is reported here on a hit, before the replayed log lines.
      Runnable started = claim.startsAtOnce() ? () -> { }
          : () -> run.listener.targetStarted(run.buildId, target.name(), 1);
      TargetOutcome served = fromCache(miss, turn, started);
      if (served != null) {
        return CompletableFuture.completedFuture(served);
      }
    }
    keys.recordOutcome(node.record, target.name(), computed, false, List.of());
    return claim.run(miss, executor);
  }

  /**
   * Serves {@code miss} from the cache (or leaves a kept result on its worker): its CACHED outcome,
   * a FAILED one if its outputs cannot be written, or null if it must run. {@code started} runs
   * once a hit is certain.
   */
  private TargetOutcome fromCache(Site.Miss miss, BuildOnce.Turn[] turn, Runnable started)
      throws IOException {
    BuildRun run = miss.run();
    Node node = miss.node();
    Target target = node.target;
    KeyService.Computed computed = miss.computed();
    FailedOutcome failed = FailedOutcome.of(node, miss.queueWait(), miss.start())
        .filesChecked(computed.filesChecked());
    Optional<ActionManifest> hit = cache.lookup(computed.key(), node.record.cache);
    DeferredOutputs d = deferred;
    DeferredOutputs.Kept kept = hit.isEmpty() && d != null
        ? d.lookup(computed.key(), why -> node.keptLost = why) : null;
    if (kept != null && DeferredOutputs.mayDefer(run, target)) {
      // Still on the worker that kept it, and this build needs it nowhere yet: a hit that
      // leaves the outputs there. (Consumers fetch them, or run the target again if lost.)
      try {
        outputs.clear(target.outputs());
      } catch (Outputs.OutputException e) {
        return failed.because("OUTPUT", e.getMessage());
      }
      node.kept = kept;
      node.outputs = keys.outputDigest(kept.manifest);
      keys.recordOutcome(node.record, target.name(), computed, true, run.ranDependencies(node));
      started.run();
      return cached(target, computed, kept.manifest, artifacts(kept.manifest), miss.queueWait(),
          miss.start(),
          "cached; its outputs stay on worker '" + kept.workerId + "' until needed");
    }
    if (kept != null) {
      if (d.fetch(kept)) {
        // Needed here now (requested, or read as an input): fetched, it is an ordinary hit.
        cache.record(computed.key(), kept.manifest);
        hit = cache.lookup(computed.key(), node.record.cache);
      } else {
        node.keptLost = "its outputs were kept on worker '" + kept.workerId
            + "', which could not serve them";
      }
      d.forget(computed.key());
    }
    if (hit.isEmpty()) {
      // With build-once, waits while a peer master builds this key, then takes its result.
      turn[0] = cache.claim(computed.key(), run::isCancelled);
      hit = turn[0].peerResult();
    }
    boolean restored;
    try {
      restored = hit.isPresent() && materialize(run, node, hit.get());
    } catch (Outputs.OutputException e) {
      // Running it would write through the same link: the target fails instead.
      return failed.because("OUTPUT", e.getMessage());
    }
    if (!restored) {
      return null;
    }
    node.outputs = keys.outputDigestOfHit(node.record, target.name(), hit.get());
    keys.recordOutcome(node.record, target.name(), computed, true, run.ranDependencies(node));
    started.run();
    replay(run, target.name(), hit.get());
    List<Artifact> artifacts = cache.artifacts(computed.key(), hit.get(), node.record.cache);
    return cached(target, computed, hit.get(),
        artifacts != null ? artifacts : artifacts(hit.get()), miss.queueWait(), miss.start(),
        "restored from the cache");
  }

  private static TargetOutcome cached(Target target, KeyService.Computed computed, ActionManifest m,
      List<Artifact> artifacts, Duration queueWait, long start, String reason) {
    long end = System.nanoTime();
    // One object for the three equal durations: the build history keeps every outcome it keeps.
    Duration took = Duration.ofNanos(end - start);
    BuildMetrics metrics =
        new BuildMetrics(
            queueWait,
            took,
            new BuildMetrics.Phases(took, Duration.ZERO, Duration.ZERO),
            new BuildMetrics.Cache(
                computed.filesChecked(), 1, 0, Duration.ofMillis(m.durationMillis())),
            BuildMetrics.Resources.ZERO);
    return new TargetOutcome(target.name(), Status.CACHED, reason,
        computed.key().toString(), 0, 0, took, artifacts, List.of(),
        metrics);
  }

  private boolean materialize(BuildRun run, Node node, ActionManifest m) throws IOException {
    Target target = node.target;
    if (!declares(target, m)) {
      // A record from shared state naming other paths than the target's: never restore it; the
      // run below records a correct one over it.
      LOG.warn("ignoring the cache record of '{}': it names outputs {} and directories {}, but"
          + " the target declares {}", target.name(), m.outputs().stream()
          .map(ActionManifest.Output::path).toList(), m.directories(), target.outputs());
      return false;
    }
    // One lstat per output file; their directories' link checks once per build (see upToDate).
    return outputs.upToDate(target.outputs(), m, keys.digests(), run.safeOutputDirectories,
        node.record.outputs) || outputs.restore(m);
  }

  /** Whether every path of {@code m} is a declared output of {@code target} or lies in one. */
  private static boolean declares(Target target, ActionManifest m) {
    for (String dir : m.directories()) {
      if (!target.outputs().contains(dir)) {
        return false;
      }
    }
    for (ActionManifest.Output o : m.outputs()) {
      if (!declaredAtOrAbove(target.outputs(), o.path())) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code path} is one of {@code declared} or lies in one (a loop: once per hit). */
  private static boolean declaredAtOrAbove(List<String> declared, String path) {
    for (String d : declared) {
      if (path.startsWith(d)
          && (path.length() == d.length() || path.charAt(d.length()) == '/')) {
        return true;
      }
    }
    return false;
  }

  private void replay(BuildRun run, String target, ActionManifest m) throws IOException {
    if (run.listener instanceof Listeners all && !all.wantReplayedLogs()) {
      return; // nobody prints or keeps them: no blob read per hit (a null build has N hits)
    }
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

  static List<Artifact> artifacts(ActionManifest m) {
    List<Artifact> out = new ArrayList<>(m.outputs().size());
    for (ActionManifest.Output o : m.outputs()) {
      out.add(new Artifact(o.path(), o.size(), o.parsedDigest()));
    }
    return out;
  }
}
