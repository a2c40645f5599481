/**
 * The engine: runs builds over the graph. {@code Engine} dispatches ready targets to sites
 * ({@code Site}: {@code LocalSlots} on this machine, {@code RemoteWorkers} on the master's
 * workers), asked in turn; {@code TargetRunner} computes a target's key and serves cache hits;
 * {@code LocalExecution} and {@code RemoteAttempt} run misses; {@code AttemptPolicy} decides
 * retries for both.
 */
package dev.buildnet.internal.engine;
