package dev.buildnet.internal.engine;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Where a target can run: this machine's slots ({@link LocalSlots}) or a master's remote workers
 * ({@link RemoteWorkers}). The engine asks its sites in turn for every ready target, so it has no
 * special case for "no master": without one its list holds only the local site. (Bazel separates
 * remote execution from local spawning the same way.)
 *
 * <p>Every method except those of {@link Claim} is called under the engine's dispatch lock, once
 * or more per ready target and pass: they must be cheap and must not block or call back into the
 * engine.
 */
interface Site {
  /** Whether {@code target} could run here once capacity frees up (no message built). */
  boolean couldRun(Target target);

  /** A dispatch pass begins: forget what the previous pass {@link #reserve reserved}. */
  void beginPass();

  /**
   * Claims capacity for {@code node} now; null if none is free, or if an earlier target of this
   * pass reserved it.
   */
  Claim tryClaim(Node node);

  /**
   * {@code target} could run here but must wait for capacity: keep what it could use from later,
   * smaller targets for the rest of the pass, so big targets are never starved by small ones.
   */
  void reserve(Target target);

  /** Whether a target behind a waiting one could still start here in this pass. */
  boolean hasRoomLeft();

  /**
   * How long a target that no site can run now waits for this one to become able to (a capable
   * worker may connect); zero if this site never changes.
   */
  Duration capabilityWait();

  /**
   * Why no site can run {@code target} now, as its waiting note and error; the engine asks the
   * site the target waits for (the one with the longest {@link #capabilityWait}).
   */
  String unplaceable(Target target);

  /** Calls {@code listener} whenever capacity may have appeared that the engine did not free. */
  default void onCapacityChange(Runnable listener) {}

  /** Capacity claimed on a site for one attempt of one target. */
  interface Claim {
    /**
     * Whether the attempt starts as soon as the engine hands it over (local), so its start is
     * reported before the key is computed; a remote attempt reports its start, with its worker,
     * when it is sent or served from the cache.
     */
    boolean startsAtOnce();

    /**
     * Runs {@code miss} (a target the cache could not serve) here. A local run completes on the
     * calling thread; a remote one on {@code executor} when the worker reports back, or fails with
     * {@link RemoteAttempt.Requeue} if it should run elsewhere.
     */
    CompletableFuture<TargetOutcome> run(Miss miss, Executor executor) throws IOException;

    /** Returns the capacity. Idempotent; called outside the engine's lock. */
    void release();
  }

  /**
   * A target the cache could not serve, ready to run: its build, its key and what went into it,
   * how long it waited for a site, and when its work began ({@link System#nanoTime}).
   */
  record Miss(BuildRun run, Node node, KeyService.Computed computed, Duration queueWait,
      long start) {}
}
