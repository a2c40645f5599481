package dev.buildnet.internal.state;


import static dev.buildnet.internal.state.StateArgs.expiresAt;
import static dev.buildnet.internal.StateChecks.requireKey;
import static dev.buildnet.internal.StateChecks.requireLock;
import static dev.buildnet.internal.StateChecks.requireName;
import static dev.buildnet.internal.StateChecks.requirePrefix;
import static dev.buildnet.internal.StateChecks.requireTtl;
import static dev.buildnet.internal.StateChecks.requireValue;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A {@link StateBackend} in this JVM's heap: for tests, single-process tools and as the reference
 * the other backends are compared against. Its contents vanish at {@link #close()} or when the
 * process ends; its locks exclude only threads of this process.
 *
 * <h2>Threads and cost</h2>
 * Safe for concurrent use. Every operation takes one short internal lock and never blocks on I/O;
 * expired keys are dropped as they expire (in order of expiry, during the next operation), so
 * memory holds only live keys plus one fencing counter per lock resource ever used.
 *
 * <h2>Pub/sub</h2>
 * Supported. Messages are delivered on one daemon thread named {@code buildnet-state-pubsub},
 * started when there is a first message to deliver and stopped by {@link #close()}; all listeners
 * share it, so a slow listener delays every other one. Messages on a channel arrive in publish order. A
 * listener that throws is logged and keeps its subscription.
 *
 * <h2>Time</h2>
 * TTLs and leases are measured on the {@link Builder#clock clock} (default: the system UTC clock)
 * in whole milliseconds; a TTL with a sub-millisecond part is rounded up.
 *
 * @since 0.1
 */
public final class InMemoryStateBackend implements StateBackend {
  private static final StateCapabilities CAPABILITIES =
      new StateCapabilities(false, false, false, true);
  private static final long NO_EXPIRY = Long.MAX_VALUE;
  private static final String NAME = "in-memory";

  private final Clock clock;
  private final Object mutex = new Object();
  // All guarded by mutex.
  private final TreeMap<String, Entry> entries = new TreeMap<>();
  private final TreeSet<Expiry> expiries = new TreeSet<>();
  private final Map<String, Lock> leases = new HashMap<>();
  private final Map<String, Long> lastTokens = new HashMap<>();
  private final InMemoryPubSub pubSub = new InMemoryPubSub(NAME);
  private volatile boolean closed;

  private InMemoryStateBackend(Builder builder) {
    this.clock = builder.clock == null ? Clock.systemUTC() : builder.clock;
  }

  /** A backend with the defaults (system UTC clock). */
  public static InMemoryStateBackend create() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public StateCapabilities capabilities() {
    return CAPABILITIES;
  }

  @Override
  public Optional<byte[]> get(String key) {
    requireKey(key);
    synchronized (mutex) {
      Entry entry = live(key);
      return entry == null ? Optional.empty() : Optional.of(entry.value.clone());
    }
  }

  @Override
  public void set(String key, byte[] value) {
    requireKey(key);
    requireValue(value, "value");
    byte[] copy = value.clone();
    synchronized (mutex) {
      live(key);
      put(key, new Entry(copy, NO_EXPIRY));
    }
  }

  @Override
  public void set(String key, byte[] value, Duration ttl) {
    requireKey(key);
    requireValue(value, "value");
    requireTtl(ttl, "ttl");
    byte[] copy = value.clone();
    synchronized (mutex) {
      live(key);
      put(key, new Entry(copy, expiresAt(now(), ttl)));
    }
  }

  @Override
  public boolean delete(String key) {
    requireKey(key);
    synchronized (mutex) {
      Entry entry = live(key);
      if (entry == null) {
        return false;
      }
      remove(key);
      return true;
    }
  }

  @Override
  public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
    requireKey(key);
    requireValue(value, "value");
    if (ttl != null) {
      requireTtl(ttl, "ttl");
    }
    byte[] copy = value.clone();
    synchronized (mutex) {
      if (live(key) != null) {
        return false;
      }
      put(key, new Entry(copy, ttl == null ? NO_EXPIRY : expiresAt(now(), ttl)));
      return true;
    }
  }

  @Override
  public boolean compareAndSet(String key, byte[] expected, byte[] update) {
    requireKey(key);
    requireValue(update, "update");
    byte[] copy = update.clone();
    synchronized (mutex) {
      Entry entry = live(key);
      boolean matches =
          expected == null ? entry == null : entry != null && Arrays.equals(entry.value, expected);
      if (matches) {
        put(key, new Entry(copy, NO_EXPIRY));
      }
      return matches;
    }
  }

  @Override
  public List<String> keys(String prefix) {
    requirePrefix(prefix);
    synchronized (mutex) {
      ensureOpen();
      purgeExpired(now());
      List<String> keys = new ArrayList<>();
      for (String key : entries.tailMap(prefix, true).keySet()) {
        if (!key.startsWith(prefix)) {
          break;
        }
        keys.add(key);
      }
      return keys;
    }
  }

  @Override
  public long increment(String key, long delta) {
    requireKey(key);
    synchronized (mutex) {
      Entry entry = live(key);
      long next = StateArgs.incremented(NAME, key, entry == null ? null : entry.value, delta);
      put(key, new Entry(StateArgs.encodeCounter(next), entry == null ? NO_EXPIRY : entry.expiresAt));
      return next;
    }
  }

  @Override
  public Optional<Lock> acquireLock(String resource, Duration ttl, String owner) {
    requireName(resource, "resource");
    requireTtl(ttl, "ttl");
    requireName(owner, "owner");
    synchronized (mutex) {
      ensureOpen();
      long now = now();
      Lock current = leases.get(resource);
      if (current != null && current.expiresAt().toEpochMilli() > now) {
        return Optional.empty();
      }
      long token = lastTokens.merge(resource, 1L, Long::sum);
      Lock granted = new Lock(resource, owner, token, Instant.ofEpochMilli(expiresAt(now, ttl)));
      leases.put(resource, granted);
      return Optional.of(granted);
    }
  }

  @Override
  public Lock renew(Lock lock, Duration ttl) {
    requireLock(lock);
    requireTtl(ttl, "ttl");
    synchronized (mutex) {
      long now = requireHeld(lock);
      Lock renewed = new Lock(lock.resource(), lock.owner(), lock.fencingToken(),
          Instant.ofEpochMilli(expiresAt(now, ttl)));
      leases.put(lock.resource(), renewed);
      return renewed;
    }
  }

  @Override
  public void release(Lock lock) {
    requireLock(lock);
    synchronized (mutex) {
      requireHeld(lock);
      leases.remove(lock.resource());
    }
  }

  @Override
  public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    requireName(channel, "channel");
    if (listener == null) {
      throw new IllegalArgumentException("listener must not be null");
    }
    ensureOpen();
    return pubSub.subscribe(channel, listener);
  }

  @Override
  public void publish(String channel, byte[] message) {
    requireName(channel, "channel");
    requireValue(message, "message");
    ensureOpen();
    pubSub.publish(channel, message);
  }

  /** Drops every key, lease and subscription and stops the pub/sub thread. Idempotent. */
  @Override
  public void close() {
    synchronized (mutex) {
      if (closed) {
        return;
      }
      closed = true;
      entries.clear();
      expiries.clear();
      leases.clear();
    }
    pubSub.close();
  }

  // --- everything below runs with mutex held ---

  /** The live entry for key after dropping whatever has expired; also the open check. */
  private Entry live(String key) {
    ensureOpen();
    purgeExpired(now());
    return entries.get(key);
  }

  private long requireHeld(Lock lock) {
    ensureOpen();
    long now = now();
    Lock current = leases.get(lock.resource());
    boolean held = current != null
        && current.fencingToken() == lock.fencingToken()
        && current.owner().equals(lock.owner())
        && current.expiresAt().toEpochMilli() > now;
    if (!held) {
      throw StateException.lockNotHeld(lock, LockMessages.notHeld(NAME, lock, current, now));
    }
    return now;
  }

  private void put(String key, Entry entry) {
    Entry previous = entries.put(key, entry);
    if (previous != null && previous.expiresAt != NO_EXPIRY) {
      expiries.remove(new Expiry(previous.expiresAt, key));
    }
    if (entry.expiresAt != NO_EXPIRY) {
      expiries.add(new Expiry(entry.expiresAt, key));
    }
  }

  private void remove(String key) {
    Entry previous = entries.remove(key);
    if (previous != null && previous.expiresAt != NO_EXPIRY) {
      expiries.remove(new Expiry(previous.expiresAt, key));
    }
  }

  private void purgeExpired(long now) {
    while (!expiries.isEmpty() && expiries.first().at <= now) {
      entries.remove(expiries.pollFirst().key);
    }
  }

  private long now() {
    return clock.millis();
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(NAME + " state backend is closed");
    }
  }

  private record Entry(byte[] value, long expiresAt) {}

  private record Expiry(long at, String key) implements Comparable<Expiry> {
    @Override
    public int compareTo(Expiry other) {
      int byTime = Long.compare(at, other.at);
      return byTime != 0 ? byTime : key.compareTo(other.key);
    }
  }

  /**
   * Configures an {@link InMemoryStateBackend}. Each setting may be given once. Not thread-safe.
   *
   * @since 0.1
   */
  public static final class Builder {
    private Clock clock;

    private Builder() {}

    /**
     * The clock TTLs and leases are measured on; default {@link Clock#systemUTC()}. Tests pass a
     * clock they advance by hand.
     */
    public Builder clock(Clock clock) {
      if (clock == null) {
        throw new IllegalArgumentException("clock must not be null");
      }
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set to " + this.clock);
      }
      this.clock = clock;
      return this;
    }

    public InMemoryStateBackend build() {
      return new InMemoryStateBackend(this);
    }
  }
}
