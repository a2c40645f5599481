package dev.buildnet.internal.master;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.Subscription;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/** A state backend whose {@code set}s wait for a latch (a slow disk), otherwise another backend. */
final class GatedStateBackend implements StateBackend {
  private final StateBackend d;
  private final CountDownLatch gate;

  GatedStateBackend(StateBackend d, CountDownLatch gate) {
    this.d = d;
    this.gate = gate;
  }

  private void waitForGate() {
    try {
      gate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for the gate", e);
    }
  }

  @Override public String name() {
    return "gated " + d.name();
  }

  @Override public StateCapabilities capabilities() {
    return d.capabilities();
  }

  @Override public Optional<byte[]> get(String key) {
    return d.get(key);
  }

  @Override public void set(String key, byte[] value) {
    waitForGate();
    d.set(key, value);
  }

  @Override public void set(String key, byte[] value, Duration ttl) {
    waitForGate();
    d.set(key, value, ttl);
  }

  @Override public boolean delete(String key) {
    return d.delete(key);
  }

  @Override public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
    return d.setIfAbsent(key, value, ttl);
  }

  @Override public boolean compareAndSet(String key, byte[] expected, byte[] update) {
    return d.compareAndSet(key, expected, update);
  }

  @Override public List<String> keys(String prefix) {
    return d.keys(prefix);
  }

  @Override public long increment(String key, long delta) {
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
