package dev.buildnet.internal;

import dev.buildnet.api.state.Lock;
import java.time.Duration;

/**
 * Argument checks every {@code StateBackend} in BuildNet makes, so they agree to the letter (the
 * compatibility kit checks the argument names in the messages). Internal: not an API.
 */
public final class StateChecks {
  private StateChecks() {}

  public static String requireKey(String key) {
    return requireName(key, "key");
  }

  public static String requireName(String value, String argument) {
    if (value == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    if (value.isEmpty()) {
      throw new IllegalArgumentException(argument + " must not be empty");
    }
    return value;
  }

  public static byte[] requireValue(byte[] value, String argument) {
    if (value == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    return value;
  }

  public static String requirePrefix(String prefix) {
    if (prefix == null) {
      throw new IllegalArgumentException("prefix must not be null (use \"\" for every key)");
    }
    return prefix;
  }

  public static Duration requireTtl(Duration ttl, String argument) {
    if (ttl == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException(argument + " must be positive but was " + ttl);
    }
    return ttl;
  }

  public static Lock requireLock(Lock lock) {
    if (lock == null) {
      throw new IllegalArgumentException("lock must not be null");
    }
    return lock;
  }
}
