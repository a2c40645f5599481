package dev.buildnet.internal.watch;

import dev.buildnet.WatchListener;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * The watch cycles of one BuildNet as they start, for the HTTP module's event streams
 * ({@code watch_cycle}) and dashboard: the last {@value #KEPT} are kept, and subscribers get each
 * new one. Thread-safe; a subscriber must not block (it runs on the watch's cycle thread).
 */
public final class WatchCycles {
  static final int KEPT = 50;

  /** A cycle and when it started. */
  public record Started(Instant at, WatchListener.Cycle cycle) {}

  private final Clock clock;
  private final IntSupplier running;
  private final ArrayDeque<Started> recent = new ArrayDeque<>(); // guarded by itself
  private final List<Consumer<Started>> subscribers = new CopyOnWriteArrayList<>();

  /** Cycles that no watch reports as running (tests of the streams alone). */
  public WatchCycles(Clock clock) {
    this(clock, () -> 0);
  }

  /** {@code running} counts the watches open now, so the dashboard can say whether one runs. */
  public WatchCycles(Clock clock, IntSupplier running) {
    this.clock = clock;
    this.running = running;
  }

  /** How many watches are open now. */
  public int running() {
    return running.getAsInt();
  }

  /** Records {@code cycle} and hands it to every subscriber. */
  public void record(WatchListener.Cycle cycle) {
    Started s = new Started(clock.instant(), cycle);
    synchronized (recent) {
      recent.addLast(s);
      if (recent.size() > KEPT) {
        recent.removeFirst();
      }
    }
    for (Consumer<Started> c : subscribers) {
      try {
        c.accept(s);
      } catch (RuntimeException e) {
        // one bad subscriber does not stop the others or the watch
      }
    }
  }

  /** The kept cycles, oldest first. */
  public List<Started> recent() {
    synchronized (recent) {
      return List.copyOf(recent);
    }
  }

  /** Follows new cycles until the returned handle is closed. */
  public AutoCloseable subscribe(Consumer<Started> sink) {
    subscribers.add(sink);
    return () -> subscribers.remove(sink);
  }
}
