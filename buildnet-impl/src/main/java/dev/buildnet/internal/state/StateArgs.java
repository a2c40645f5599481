package dev.buildnet.internal.state;

import dev.buildnet.api.state.StateException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Value rules shared by the SQLite and in-memory backends (argument checks: {@link dev.buildnet.internal.StateChecks}). */
public final class StateArgs {
  private StateArgs() {}

  /**
   * The epoch millisecond at which something set at {@code nowMillis} with {@code ttl} expires. A
   * sub-millisecond remainder rounds up, so a positive TTL never expires at once; a TTL too long
   * to represent saturates (it never expires in practice).
   */
  public static long expiresAt(long nowMillis, Duration ttl) {
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

  /** The counter value of a stored value, per {@link dev.buildnet.api.state.StateBackend#increment}. */
  public static long incremented(String backend, String key, byte[] current, long delta) {
    long value = 0;
    if (current != null) {
      String text = new String(current, StandardCharsets.UTF_8);
      try {
        value = parseDecimal(text);
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

  /**
   * An optional sign and ASCII digits only (docs/PROTOCOL.md, STATE_INCREMENT), as the Python
   * master and Redis read a counter: {@link Long#parseLong} alone also takes other scripts'
   * digits ("\u0665" is 5), so the same stored bytes would count on one master and fail on another.
   */
  private static long parseDecimal(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c < '0' || c > '9') && !(i == 0 && (c == '+' || c == '-'))) {
        throw new NumberFormatException(text);
      }
    }
    return Long.parseLong(text);
  }

  public static byte[] encodeCounter(long value) {
    return Long.toString(value).getBytes(StandardCharsets.US_ASCII);
  }

  private static String abbreviate(String text) {
    String quoted = text.length() > 40 ? text.substring(0, 40) + "..." : text;
    return "\"" + quoted + "\"";
  }
}
