package dev.buildnet.state;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Argument checks and value rules shared by the backends, so they agree to the letter. */
final class StateArgs {
  private StateArgs() {}

  static String requireKey(String key) {
    return requireName(key, "key");
  }

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
   * The epoch millisecond at which something set at {@code nowMillis} with {@code ttl} expires. A
   * sub-millisecond remainder rounds up, so a positive TTL never expires at once; a TTL too long
   * to represent saturates (it never expires in practice).
   */
  static long expiresAt(long nowMillis, Duration ttl) {
    try {
      long millis = ttl.toMillis();
      if (ttl.getNano() % 1_000_000 != 0) {
        millis = Math.addExact(millis, 1);
      }
      return Math.addExact(nowMillis, millis);
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** A live row or entry: no expiry, or an expiry still in the future. */
  static boolean isLive(long expiresAt, long nowMillis) {
    return expiresAt > nowMillis;
  }

  /** The counter value of a stored value, per {@link dev.buildnet.api.state.StateBackend#increment}. */
  static long incremented(String backend, String key, byte[] current, long delta) {
    long value = 0;
    if (current != null) {
      String text = new String(current, StandardCharsets.UTF_8);
      try {
        value = Long.parseLong(text);
      } catch (NumberFormatException e) {
        throw new StateException(
            backend + ": cannot increment key '" + key + "': its value is not a decimal integer: "
                + abbreviate(text));
      }
    }
    try {
      return Math.addExact(value, delta);
    } catch (ArithmeticException e) {
      throw new StateException(
          backend + ": cannot increment key '" + key + "': " + value + " + " + delta
              + " overflows a long");
    }
  }

  static byte[] encodeCounter(long value) {
    return Long.toString(value).getBytes(StandardCharsets.US_ASCII);
  }

  private static String abbreviate(String text) {
    String quoted = text.length() > 40 ? text.substring(0, 40) + "..." : text;
    return "\"" + quoted + "\"";
  }
}
