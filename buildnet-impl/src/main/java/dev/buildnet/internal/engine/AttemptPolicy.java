package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;
import dev.buildnet.graph.Target;
import java.time.Duration;

/**
 * When a failed attempt of a target is tried again: one policy for local and remote attempts, so
 * the two cannot drift apart. There are two kinds of failed attempt, and the rule for each is the
 * one BuildNet has always applied:
 *
 * <ul>
 *   <li><b>The target failed</b> (its command exited non-zero or timed out, could not start, or its
 *       bundler reported errors). It runs again, on the same site, only if it is {@link
 *       Target#retryable()}, at most {@link Target#retries()} more times, after a backoff that
 *       starts at {@code BuildNet.Builder.retryBackoff} and doubles per retry (at most 30 s). A
 *       worker reports such a failure as final (BUILD_FAILED with {@code retryable} false): a
 *       remote target's own failure ends it, as it always did; only local executions run a
 *       failed command again.
 *   <li><b>The site failed it</b> (its worker left, died or refused it, or failed it for a reason
 *       worth retrying elsewhere: BUILD_FAILED with {@code retryable} true). It goes back to the
 *       ready queue for any site, without backoff, at most {@value #MAX_REQUEUES} times per target
 *       and build. These never count against {@link Target#retries()}: the target did nothing
 *       wrong.
 * </ul>
 */
final class AttemptPolicy {
  /** How often one target of one build may lose its site before it fails. */
  static final int MAX_REQUEUES = 3;
  private static final long MAX_BACKOFF_MILLIS = 30_000L;

  private final Duration retryBackoff;

  AttemptPolicy(Duration retryBackoff) {
    this.retryBackoff = retryBackoff;
  }

  /** Whether {@code target}, whose command failed on attempt {@code attempts}, runs again. */
  boolean retriesAfterFailure(Target target, int attempts) {
    return target.retryable() && attempts <= target.retries();
  }

  /** How long to wait before attempt number {@code attempt} (2 or more) of a failed command. */
  long backoffMillis(int attempt) {
    return Math.min(retryBackoff.toMillis() << Math.min(attempt - 2, 10), MAX_BACKOFF_MILLIS);
  }

  /**
   * Counts one more lost site for {@code node}; false once it lost too many, and then it fails.
   * Called under the engine's lock, which guards {@link Node#requeues}.
   */
  boolean requeuesAfterLostSite(Node node) {
    return ++node.requeues <= MAX_REQUEUES;
  }

  /** The reason of a target that lost its site once too often, ending with the last loss. */
  static String lostTooOften(Node node, String lastLoss) {
    return "'" + node.name() + "' lost its worker " + (MAX_REQUEUES + 1) + " times; last: "
        + lastLoss;
  }
}
