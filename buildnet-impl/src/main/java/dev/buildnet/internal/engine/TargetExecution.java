package dev.buildnet.internal.engine;

/** A target's work in progress, which the engine can ask to stop. */
interface TargetExecution {
  /** Stops the work: kills the running process tree, or abandons a pending retry. Idempotent. */
  void cancel();
}
