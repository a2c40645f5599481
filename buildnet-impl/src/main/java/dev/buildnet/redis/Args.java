package dev.buildnet.redis;

import dev.buildnet.api.state.Lock;
import java.time.Duration;

/**
 * Argument checks with the same wording as the other backends' (the compatibility kit checks the
 * argument names in the messages).
 */
final class Args {
  /** Redis refuses expiry times that overflow its clock; a longer TTL saturates to this. */
  static final long MAX_TTL_MILLIS = 1000L * 365 * 24 * 3600 * 1000;

  private Args() {}

  static String requireName(String value, String argument) {
    if (value == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    if (value.isEmpty()) {
      throw new IllegalArgumentException(argument + " must not be empty");
    }
    return value;
  }

  static byte[] requireValue(byte[] value, String argument) {
    if (value == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    return value;
  }

  static String requirePrefix(String prefix) {
    if (prefix == null) {
      throw new IllegalArgumentException("prefix must not be null (use \"\" for every key)");
    }
    return prefix;
  }

  static Duration requireTtl(Duration ttl, String argument) {
    if (ttl == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException(argument + " must be positive but was " + ttl);
    }
    return ttl;
  }

  static Lock requireLock(Lock lock) {
    if (lock == null) {
      throw new IllegalArgumentException("lock must not be null");
    }
    return lock;
  }

  /**
   * The TTL in whole milliseconds as Redis takes it: a sub-millisecond remainder rounds up (a
   * positive TTL never expires at once), and an enormous one saturates.
   */
  static long ttlMillis(Duration ttl) {
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
