package dev.buildnet.internal.engine;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.graph.Target;

/** One target's place in one build. Mutable fields are guarded by the owning {@link BuildRun}. */
final class Node {
  final Target target;
  final int order; // position in topological order, for stable tie-breaking
  /** The target's state kept across builds of the plan (see {@link TargetRecord}). */
  final TargetRecord record;
  /** Set by the {@link BuildRun} that makes it, before the run is shared (from its plan). */
  Node[] dependencies;
  Node[] dependents;
  int pendingDependencies;
  TargetOutcome outcome;
  volatile Digest key;
  /**
   * The digest of the outputs this node produced or restored in this build ({@link
   * dev.buildnet.internal.cache.KeyManifest#outputDigest}), once it succeeded: what its dependents'
   * keys cover of it when it declares outputs.
   */
  volatile Digest outputs;
  volatile TargetExecution execution; // set while running, for cancel
  /** Through {@link #ATTEMPTS}: an int field, not an AtomicInteger per node per build. */
  private volatile int remoteAttempts;
  private static final java.util.concurrent.atomic.AtomicIntegerFieldUpdater<Node> ATTEMPTS =
      java.util.concurrent.atomic.AtomicIntegerFieldUpdater.newUpdater(Node.class, "remoteAttempts");
  int requeues; // guarded by the engine's lock
  /**
   * Where this node's outputs are when a worker kept them (deferred materialization), else null:
   * consumers take the outputs from here, not from {@link #outcome}, because a producer re-run
   * after its worker was lost may replace them.
   */
  volatile DeferredOutputs.Kept kept;

  /** Why this node runs although a worker had kept its outputs (the worker is gone), else null. */
  volatile String keptLost;

  Node(Target target, int order, TargetRecord record) {
    this.target = target;
    this.order = order;
    this.record = record;
  }

  /**
   * The next remote attempt number: attempts are numbered per target in a build, so a result of a
   * superseded attempt can be told from the current one's.
   */
  int nextAttempt() {
    return ATTEMPTS.incrementAndGet(this);
  }

  String name() {
    return target.name();
  }

  boolean isFinal() {
    return outcome != null;
  }
}
