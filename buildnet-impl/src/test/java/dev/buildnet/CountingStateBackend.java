package dev.buildnet;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.Subscription;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A state backend that counts the reads ({@code get}) and writes (every call that changes a
 * key) of the keys a predicate selects, and otherwise passes everything to another backend. The
 * null-build and explain-record tests use it to pin "reads or writes nothing".
 */
final class CountingStateBackend implements StateBackend {
  final AtomicInteger reads = new AtomicInteger();
  final AtomicInteger writes = new AtomicInteger();
  private final StateBackend d;
  private final Predicate<String> counted;

  CountingStateBackend(StateBackend d, Predicate<String> counted) {
    this.d = d;
    this.counted = counted;
  }

  void reset() {
    reads.set(0);
    writes.set(0);
  }

  private void read(String key) {
    if (counted.test(key)) {
      reads.incrementAndGet();
    }
  }

  private void wrote(String key) {
    if (counted.test(key)) {
      writes.incrementAndGet();
    }
  }

  @Override public String name() {
    return "counting " + d.name();
  }

  @Override public StateCapabilities capabilities() {
    return d.capabilities();
  }

  @Override public Optional<byte[]> get(String key) {
    read(key);
    return d.get(key);
  }

  @Override public void set(String key, byte[] value) {
    wrote(key);
    d.set(key, value);
  }

  @Override public void set(String key, byte[] value, Duration ttl) {
    wrote(key);
    d.set(key, value, ttl);
  }

  @Override public boolean delete(String key) {
    wrote(key);
    return d.delete(key);
  }

  @Override public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
    wrote(key);
    return d.setIfAbsent(key, value, ttl);
  }

  @Override public boolean compareAndSet(String key, byte[] expected, byte[] update) {
    wrote(key);
    return d.compareAndSet(key, expected, update);
  }

  @Override public List<String> keys(String prefix) {
    return d.keys(prefix);
  }

  @Override public long increment(String key, long delta) {
    wrote(key);
    return d.increment(key, delta);
  }

  @Override public Optional<Lock> acquireLock(String resource, Duration ttl, String owner) {
    return d.acquireLock(resource, ttl, owner);
  }

  @Override public Lock renew(Lock lock, Duration ttl) {
    return d.renew(lock, ttl);
  }

  @Override public void release(Lock lock) {
    d.release(lock);
  }

  @Override public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    return d.subscribe(channel, listener);
  }

  @Override public void publish(String channel, byte[] message) {
    d.publish(channel, message);
  }

  @Override public void close() {
    d.close();
  }
}
