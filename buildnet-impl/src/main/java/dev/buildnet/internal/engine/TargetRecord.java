package dev.buildnet.internal.engine;

import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.internal.graph.InputMemo;

/**
 * What the engine remembers of one target across builds of the same {@link BuildPlan}: the last
 * state of each memo a cache hit consults (its inputs, its key, its action-cache record, its
 * outputs' resolved paths and digest-cache entries, its explain summary), held here so that a
 * repeat null build follows these references instead of looking each one up by name, key or path
 * in a map of every target (at 10,000 targets each such lookup is a cache miss of its own).
 *
 * <p>It only ever speeds a check up, never replaces one: every slot holds what its owner would
 * have found in its own map, and the owner validates it exactly as it validates that map's entry
 * (the same target, the same inputs and dependencies, the same stat of every file, the same
 * blob-index epoch...), falling back to the map when it does not hold. A target whose definition
 * changes gets a new graph and so a new plan with empty records. Written by whichever thread
 * keys the target (one at a time per build; two builds of one plan at once just race to store
 * equally valid state), so every slot is a volatile reference to immutable state.
 */
final class TargetRecord {
  final InputMemo.Slot inputs = new InputMemo.Slot();
  final ActionCache.Slot cache = new ActionCache.Slot();
  final Outputs.Slot outputs = new Outputs.Slot();
  /** {@link KeyMemo}'s last memo of the target, or null. */
  volatile KeyMemo.Memo key;
  /** {@link KeyService}'s last recorded summary of the target, or null. */
  volatile KeyService.Recorded recorded;
  /** {@link KeyService#outputDigestOfHit}'s last digest, or null. */
  volatile KeyService.OutputMemo hitOutputs;
  /** {@link GeneratedPaths}'s answer for the target, or null. */
  volatile GeneratedPaths.Known generated;
  /** {@link BuildRun#dependencyKeys}'s last answer for the target, or null. */
  volatile Dependencies dependencies;

  /**
   * What the target's key covered of its dependencies last time, as a map (immutable, so the key
   * memo keeps this very instance) and as the digests it was made of, by position in the node's
   * dependencies: a build whose dependencies settled with the same digests (the same objects, on a
   * null build) gets the same map back without making one.
   */
  record Dependencies(java.util.Map<String, dev.buildnet.internal.cache.KeyManifest.Dependency> map,
      dev.buildnet.api.hash.Digest[] keys, dev.buildnet.api.hash.Digest[] outputs) {}
}
