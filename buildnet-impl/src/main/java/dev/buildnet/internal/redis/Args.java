package dev.buildnet.internal.redis;

import java.time.Duration;

/** Redis's own value rules (argument checks: {@link dev.buildnet.internal.StateChecks}). */
public final class Args {
  /** Redis refuses expiry times that overflow its clock; a longer TTL saturates to this. */
  static final long MAX_TTL_MILLIS = 1000L * 365 * 24 * 3600 * 1000;

  private Args() {}

  /**
   * The TTL in whole milliseconds as Redis takes it: a sub-millisecond remainder rounds up (a
   * positive TTL never expires at once), and an enormous one saturates.
   */
  public static long ttlMillis(Duration ttl) {
    try {
      long millis = ttl.toMillis();
      if (ttl.getNano() % 1_000_000 != 0) {
        millis = Math.addExact(millis, 1);
      }
      return Math.min(millis, MAX_TTL_MILLIS);
    } catch (ArithmeticException e) {
      return MAX_TTL_MILLIS;
    }
  }
}
