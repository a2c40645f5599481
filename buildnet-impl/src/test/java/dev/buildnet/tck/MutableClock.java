package dev.buildnet.tck;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link Clock} that stands still until a test moves it, so that TTL and lease tests never
 * sleep. Thread-safe; clocks made by {@link #withZone} share the instant.
 */
public final class MutableClock extends Clock {
  /** Where a new clock starts: a fixed, unremarkable instant well after the epoch. */
  public static final Instant START = Instant.parse("2030-01-01T00:00:00Z");

  private final AtomicReference<Instant> now;
  private final ZoneId zone;

  public MutableClock() {
    this(START);
  }

  public MutableClock(Instant start) {
    this(new AtomicReference<>(start), ZoneOffset.UTC);
  }

  private MutableClock(AtomicReference<Instant> now, ZoneId zone) {
    this.now = now;
    this.zone = zone;
  }

  /** Moves the clock forward by {@code amount}, which must not be negative. */
  public void advance(Duration amount) {
    if (amount.isNegative()) {
      throw new IllegalArgumentException("a MutableClock only moves forward but got " + amount);
    }
    now.updateAndGet(instant -> instant.plus(amount));
  }

  public void advanceMillis(long millis) {
    advance(Duration.ofMillis(millis));
  }

  @Override
  public Instant instant() {
    return now.get();
  }

  @Override
  public long millis() {
    return now.get().toEpochMilli();
  }

  @Override
  public ZoneId getZone() {
    return zone;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return new MutableClock(now, zone);
  }

  @Override
  public String toString() {
    return "MutableClock[" + now.get() + "]";
  }
}
