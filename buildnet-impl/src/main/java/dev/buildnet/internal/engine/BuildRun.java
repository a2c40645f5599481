package dev.buildnet.internal.engine;

import dev.buildnet.BuildFuture;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.cache.KeyManifest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state of one build: which targets wait on which, which are done, and whether the build was
 * stopped (a failure without keep-going) or cancelled. Every mutation happens under this object's
 * monitor; listener calls and engine calls happen outside it.
 */
final class BuildRun {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BuildRun.class);
  final String buildId;
  final long sequence;
  final boolean keepGoing;
  final Set<String> requested;
  /** Targets that ignore cache hits in this build (BUILD_REQUEST {@code force}). */
  final Set<String> forced;
  /** Targets whose results this build does not record in the action cache ({@code --no-cache}). */
  final Set<String> unrecorded;
  final long submittedNanos;
  final BuildListener listener;
  /** In build order; see {@link BuildPlan}. */
  private final Node[] nodes;
  private final BuildPlan plan;
  private final BuildFuture future;
  /** Runs once every target is final, before the build is reported finished. */
  private final java.util.function.Consumer<BuildRun> beforeFinish;
  private int finished;
  private boolean stopped;
  private boolean cancelled;
  private String stopReason;
  private int reporting; // finish() calls still delivering targetFinished events
  private boolean completed;
  private boolean storageFailureLogged;
  private dev.buildnet.internal.graph.InputResolver inputResolver;
  /**
   * Directories holding outputs that this build's cache hits found free of links leading outside
   * the workspace, so each is checked once per build rather than once per target (see {@code
   * Outputs#upToDate}).
   */
  final Set<String> safeOutputDirectories = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** Keys of up-to-date dependencies outside this build (watch mode); empty otherwise. */
  private final Map<String, KeyManifest.Dependency> upstreamKeys;

  /**
   * A build of exactly {@code plan}'s order (dependencies first; a whole graph's topological order
   * for a plain build), whose targets may depend on targets outside it that are up to date with
   * the keys {@code upstreamKeys} gives (watch mode; empty otherwise).
   */
  BuildRun(
      String buildId,
      long sequence,
      BuildPlan plan,
      Map<String, KeyManifest.Dependency> upstreamKeys,
      Set<String> requested,
      boolean keepGoing,
      Set<String> forced,
      Set<String> unrecorded,
      BuildListener listener,
      BuildFuture future,
      long submittedNanos,
      java.util.function.Consumer<BuildRun> beforeFinish) {
    this.beforeFinish = beforeFinish;
    this.upstreamKeys = Map.copyOf(upstreamKeys);
    this.buildId = buildId;
    this.sequence = sequence;
    this.requested = Set.copyOf(requested);
    this.keepGoing = keepGoing;
    this.forced = Set.copyOf(forced);
    this.unrecorded = Set.copyOf(unrecorded);
    this.listener = listener;
    this.future = future;
    this.submittedNanos = submittedNanos;
    this.plan = plan;
    List<Target> order = plan.order;
    this.nodes = new Node[order.size()];
    for (int i = 0; i < nodes.length; i++) {
      nodes[i] = new Node(order.get(i), i, plan.records[i]);
    }
    for (int i = 0; i < nodes.length; i++) {
      Node n = nodes[i];
      for (String dep : plan.outside[i]) {
        if (!this.upstreamKeys.containsKey(dep)) {
          throw new IllegalArgumentException("target '" + n.name() + "' depends on '" + dep
              + "', which is neither in the build nor up to date");
        }
      }
      n.dependencies = nodesAt(plan.dependencies[i]);
      n.dependents = nodesAt(plan.dependents[i]);
      n.pendingDependencies = n.dependencies.length;
    }
  }

  private static final Node[] NO_NODES = new Node[0];

  private Node[] nodesAt(int[] positions) {
    if (positions.length == 0) {
      return NO_NODES;
    }
    Node[] out = new Node[positions.length];
    for (int k = 0; k < out.length; k++) {
      out[k] = nodes[positions[k]];
    }
    return out;
  }

  /**
   * True the first time it is called in this build: a full disk fails every target that writes,
   * and the log says so once per build rather than once per target.
   */
  synchronized boolean firstStorageFailure() {
    boolean first = !storageFailureLogged;
    storageFailureLogged = true;
    return first;
  }

  /** One resolver per build: each source directory is listed once per build. */
  synchronized dev.buildnet.internal.graph.InputResolver inputResolver(KeyService keys) {
    if (inputResolver == null) {
      inputResolver = keys.resolver();
    }
    return inputResolver;
  }

  BuildFuture future() {
    return future;
  }

  List<String> targetNames() {
    return plan.names;
  }

  /** Targets with no dependencies: ready as soon as the build starts. */
  synchronized List<Node> roots() {
    List<Node> roots = new ArrayList<>();
    for (Node n : nodes) {
      if (n.pendingDependencies == 0) {
        roots.add(n);
      }
    }
    return roots;
  }

  /**
   * Whether the build has ended. It is set, under this monitor, before the buildFinished event goes
   * out, so whoever has seen that event also sees the build as ended (a later cancel is refused).
   */
  synchronized boolean hasEnded() {
    return completed;
  }

  synchronized boolean isStopped() {
    return stopped;
  }

  synchronized boolean isCancelled() {
    return cancelled;
  }

  synchronized String stopReason() {
    return stopReason;
  }

  /** Marks the build cancelled; returns false if it already was, or is done. */
  synchronized boolean markCancelled() {
    if (cancelled || finished == nodes.length) {
      return false;
    }
    cancelled = true;
    stopped = true;
    stopReason = "the build was cancelled";
    return true;
  }

  /** Nodes currently running (for cancel). */
  synchronized List<Node> running() {
    List<Node> out = new ArrayList<>();
    for (Node n : nodes) {
      if (!n.isFinal() && n.execution != null) {
        out.add(n);
      }
    }
    return out;
  }

  /**
   * Records {@code outcome} for {@code node}, skips what can no longer run, and returns the nodes
   * that became ready. Fires listener events and, when every node is final, completes the future.
   */
  List<Node> finish(Node node, TargetOutcome outcome) {
    // Most finishes settle one target and ready at most a few: the lists are made only when
    // needed (the single event is delivered without one).
    List<TargetOutcome> skippedEvents = null;
    List<Node> ready = null;
    boolean done;
    synchronized (this) {
      if (node.isFinal()) {
        return List.of();
      }
      settle(node, outcome);
      if (outcome.status().succeeded()) {
        for (Node d : node.dependents) {
          if (!d.isFinal() && --d.pendingDependencies == 0) {
            if (ready == null) {
              ready = new ArrayList<>();
            }
            ready.add(d);
          }
        }
      } else {
        if (outcome.status() == Status.FAILED && !keepGoing && !stopped) {
          stopped = true;
          stopReason = "the build stopped after '" + node.name() + "' failed";
        }
        skippedEvents = new ArrayList<>();
        skipDependents(node, skippedEvents);
      }
      reporting++;
    }
    listener.targetFinished(buildId, outcome);
    if (skippedEvents != null) {
      for (TargetOutcome e : skippedEvents) {
        listener.targetFinished(buildId, e);
      }
    }
    // The build ends only after every targetFinished was delivered: another thread may settle the
    // last node while this one still reports an earlier node's outcome.
    synchronized (this) {
      reporting--;
      done = finished == nodes.length && reporting == 0 && !completed;
      completed |= done;
    }
    if (done) {
      complete();
    }
    return ready == null ? List.of() : ready;
  }

  private void settle(Node node, TargetOutcome outcome) {
    node.outcome = outcome;
    node.execution = null;
    finished++;
    totals.add(node.order, outcome, nodes.length);
  }

  /**
   * The build's metrics, summed as each target settles (its outcome is fresh in the cache then)
   * rather than by a walk over every outcome at the end. Guarded by the run's monitor. Sums are
   * exact (whole seconds and nanoseconds, counts), so their order does not matter; CPU time is a
   * floating-point sum, so it is summed at the end in the build's order, as before.
   */
  private final Totals totals = new Totals();

  private static final class Totals {
    boolean success = true;
    final long[] pre = new long[2];
    final long[] build = new long[2];
    final long[] post = new long[2];
    final long[] saved = new long[2];
    Duration firstWait;
    long files;
    long hits;
    long misses;
    long peak;
    long ioRead;
    long ioWrite;
    double[] cpuMillis; // by node order; made when a target reports CPU use
    boolean listsToCollect; // some outcome carries artifacts or errors

    void add(int order, TargetOutcome o, int size) {
      success &= o.status().succeeded();
      listsToCollect |= !o.artifacts().isEmpty() || !o.errors().isEmpty();
      BuildMetrics m = o.metrics();
      BuildMetrics.Phases phases = m.phases();
      BuildRun.add(pre, phases.preBuild());
      BuildRun.add(build, phases.build());
      BuildRun.add(post, phases.postBuild());
      BuildMetrics.Cache c = m.cache();
      files += c.filesChecked();
      hits += c.hits();
      misses += c.misses();
      BuildRun.add(saved, c.timeSaved());
      BuildMetrics.Resources r = m.resources();
      peak = Math.max(peak, r.peakMemoryBytes());
      double cpu = r.averageCpuPercent() / 100.0 * phases.build().toMillis();
      if (cpu != 0) {
        if (cpuMillis == null) {
          cpuMillis = new double[size];
        }
        cpuMillis[order] = cpu;
      }
      ioRead += r.ioReadBytes();
      ioWrite += r.ioWriteBytes();
      if (o.status() == Status.BUILT || o.status() == Status.CACHED) {
        if (firstWait == null || m.queueWait().compareTo(firstWait) < 0) {
          firstWait = m.queueWait();
        }
      }
    }
  }

  private void skipDependents(Node failed, List<TargetOutcome> events) {
    Deque<Node> todo = new ArrayDeque<>(java.util.Arrays.asList(failed.dependents));
    while (!todo.isEmpty()) {
      Node n = todo.pop();
      if (n.isFinal()) {
        continue;
      }
      String verb = failed.outcome.status() == Status.FAILED ? "failed" : "did not complete";
      TargetOutcome skipped = skipped(n, "dependency '" + failed.name() + "' " + verb);
      settle(n, skipped);
      events.add(skipped);
      java.util.Collections.addAll(todo, n.dependents);
    }
  }

  static TargetOutcome skipped(Node n, String reason) {
    return outcome(n, Status.SKIPPED, reason);
  }

  static TargetOutcome outcome(Node n, Status status, String reason) {
    String key = n.key == null ? null : n.key.toString();
    return new TargetOutcome(
        n.name(), status, reason, key, -1, 0, Duration.ZERO, List.of(), List.of(),
        BuildMetrics.EMPTY);
  }

  private void complete() {
    List<TargetOutcome> outcomes;
    synchronized (this) {
      outcomes = new ArrayList<>(nodes.length);
      for (Node n : nodes) {
        outcomes.add(n.outcome);
      }
    }
    BuildResult result = summarize(outcomes);
    try {
      beforeFinish.accept(this);
    } catch (RuntimeException e) {
      LOG.warn("build {}: finishing its records failed: {}", buildId, e.toString());
    }
    listener.buildFinished(result);
    Futures.complete(future, result);
  }

  /** The result of the build whose outcomes, in build order, are {@code outcomes}. */
  private BuildResult summarize(List<TargetOutcome> outcomes) {
    Duration wall = Duration.ofNanos(System.nanoTime() - submittedNanos);
    List<Artifact> artifacts = new ArrayList<>();
    List<BuildError> errors = new ArrayList<>();
    Totals t;
    double cpuMillis = 0;
    synchronized (this) {
      t = totals;
      if (t.listsToCollect) {
        for (TargetOutcome o : outcomes) {
          if (!o.artifacts().isEmpty() && requested.contains(o.target())) {
            artifacts.addAll(o.artifacts());
          }
          if (!o.errors().isEmpty()) {
            errors.addAll(o.errors());
          }
        }
      }
      if (t.cpuMillis != null) {
        for (double c : t.cpuMillis) {
          cpuMillis += c; // in build order; a zero term left out changes no sum
        }
      }
    }
    double cpuPercent = wall.isZero() ? 0 : cpuMillis * 100.0 / Math.max(1, wall.toMillis());
    BuildMetrics metrics =
        new BuildMetrics(
            t.firstWait == null ? Duration.ZERO : t.firstWait,
            wall,
            new BuildMetrics.Phases(total(t.pre), total(t.build), total(t.post)),
            new BuildMetrics.Cache(t.files, t.hits, t.misses, total(t.saved)),
            new BuildMetrics.Resources(t.peak, cpuPercent, t.ioRead, t.ioWrite));
    return new BuildResult(t.success, buildId, wall, artifacts, errors, List.of(), metrics,
        outcomes);
  }

  /** Adds {@code d} to {@code sum} (seconds, nanoseconds); overflow throws as Duration.plus does. */
  private static void add(long[] sum, Duration d) {
    sum[0] = Math.addExact(sum[0], d.getSeconds());
    sum[1] += d.getNano();
  }

  private static Duration total(long[] sum) {
    return Duration.ofSeconds(sum[0], sum[1]);
  }

  private java.util.TreeSet<String> inputPrefixes; // guarded by this: lazily built

  /**
   * Whether some target of this build declares inputs that may read {@code target}'s outputs from
   * the workspace (an input pattern whose fixed leading directories contain, or lie in, one of
   * them): such outputs must be in the workspace before that target's key is computed, so they
   * are never deferred.
   */
  synchronized boolean outputsReadAsInputs(dev.buildnet.graph.Target target) {
    if (inputPrefixes == null) {
      inputPrefixes = new java.util.TreeSet<>();
      for (Node n : nodes) {
        for (String input : n.target.inputs()) {
          if (!input.startsWith("!")) {
            inputPrefixes.add(GeneratedPaths.staticPrefix(input));
          }
        }
      }
    }
    for (String out : target.outputs()) {
      for (String p = out; ; p = p.substring(0, Math.max(0, p.lastIndexOf('/')))) {
        if (inputPrefixes.contains(p)) {
          return true; // an input walks this output or a directory holding it
        }
        if (p.isEmpty()) {
          break;
        }
      }
      String below = inputPrefixes.ceiling(out + "/");
      if (below != null && below.startsWith(out + "/")) {
        return true; // an input lies inside this output
      }
    }
    return false;
  }

  /**
   * What the key of a node whose dependencies have all succeeded covers of them: each one's key and,
   * if it declares outputs, the digest of the outputs it produced or restored in this build.
   */
  Map<String, KeyManifest.Dependency> dependencyKeys(Node n) {
    if (n.dependencies.length == 0 && upstreamKeys.isEmpty()) {
      return Map.of(); // what the walk below makes of no dependencies, without a map per target
    }
    TargetRecord.Dependencies last = n.record.dependencies;
    if (last != null && upstreamKeys.isEmpty() && settledAsBefore(n.dependencies, last)) {
      return last.map(); // the same dependencies (the plan's) with the same digests: the same map
    }
    Map<String, KeyManifest.Dependency> keys = new HashMap<>();
    boolean warned = false;
    for (Node d : n.dependencies) {
      Digest outputs = d.outputs;
      if (!d.target.outputs().isEmpty() && outputs == null) {
        // Every success path records the digest; keying by the key instead is the old, safe rule.
        LOG.warn("build {}: no output digest recorded for '{}'; '{}' is keyed by its key",
            buildId, d.name(), n.name());
        warned = true;
      }
      keys.put(d.name(), d.target.outputs().isEmpty() || outputs == null
          ? KeyManifest.Dependency.byKey(d.key) : new KeyManifest.Dependency(d.key, outputs));
    }
    if (!upstreamKeys.isEmpty()) {
      for (String dep : n.target.dependencies()) {
        keys.putIfAbsent(dep, upstreamKeys.get(dep));
      }
      return keys;
    }
    if (warned) {
      return keys; // not remembered: the next build looks (and warns) again
    }
    Map<String, KeyManifest.Dependency> map = Map.copyOf(keys);
    Digest[] depKeys = new Digest[n.dependencies.length];
    Digest[] depOutputs = new Digest[n.dependencies.length];
    for (int i = 0; i < depKeys.length; i++) {
      depKeys[i] = n.dependencies[i].key;
      depOutputs[i] = n.dependencies[i].outputs;
    }
    n.record.dependencies = new TargetRecord.Dependencies(map, depKeys, depOutputs);
    return map;
  }

  /**
   * Whether every dependency settled with the key and output digest {@code last} was made from,
   * so that {@code last.map()} is what {@link #dependencyKeys} would make now.
   */
  private static boolean settledAsBefore(Node[] dependencies, TargetRecord.Dependencies last) {
    if (dependencies.length != last.keys().length) {
      return false;
    }
    for (int i = 0; i < dependencies.length; i++) {
      Node d = dependencies[i];
      Digest key = d.key;
      Digest outputs = d.outputs;
      Digest k = last.keys()[i];
      Digest o = last.outputs()[i];
      if (key == null || (key != k && !key.equals(k))
          || (outputs != o && (outputs == null || !outputs.equals(o)))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Hands each target that succeeded in this build to {@code sink} with what its dependents' keys
   * cover of it (see {@link #dependencyKeys}).
   */
  void settled(java.util.function.BiConsumer<String, KeyManifest.Dependency> sink) {
    synchronized (this) {
      for (Node n : nodes) {
        Digest key = n.key;
        if (n.outcome != null && n.outcome.status().succeeded() && key != null) {
          sink.accept(n.name(), n.target.outputs().isEmpty() || n.outputs == null
              ? KeyManifest.Dependency.byKey(key) : new KeyManifest.Dependency(key, n.outputs));
        }
      }
    }
  }

  /** The dependencies of {@code n} that ran (rather than were restored) in this build, sorted. */
  List<String> ranDependencies(Node n) {
    List<String> ran = null; // made only if one ran: on a null build none did
    synchronized (this) {
      for (Node d : n.dependencies) {
        if (d.outcome != null && d.outcome.status() == Status.BUILT) {
          if (ran == null) {
            ran = new ArrayList<>();
          }
          ran.add(d.name());
        }
      }
    }
    if (ran == null) {
      return List.of();
    }
    ran.sort(null);
    return ran;
  }

  /**
   * Whether {@code n} consumes the dependency outputs its key was computed from. A dependency whose
   * kept outputs were lost and that ran again may have produced other bytes: then the result of
   * {@code n} must not be recorded under that key.
   */
  static boolean consumesWhatItWasKeyedFrom(Node n, KeyManifest keyed) {
    for (Node d : n.dependencies) {
      if (!d.target.outputs().isEmpty() && d.outputs != null
          && !d.outputs.equals(keyed.dependencies().get(d.name()))
          && !keyed.keyedByKey(d.name())) {
        return false;
      }
    }
    return true;
  }
}
