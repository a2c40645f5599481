package dev.buildnet.internal;

import java.time.Duration;
import java.util.Objects;

/** The builders' check of a timeout or interval setting. Internal: not an API. */
public final class DurationChecks {
  private DurationChecks() {}

  /**
   * {@code d}, if positive.
   *
   * @throws NullPointerException if {@code d} is null (the message is {@code name})
   * @throws IllegalArgumentException if {@code d} is zero or negative
   */
  public static Duration positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(name + " must be positive but was " + d);
    }
    return d;
  }
}
