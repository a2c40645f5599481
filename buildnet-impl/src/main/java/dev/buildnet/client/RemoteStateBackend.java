package dev.buildnet.client;


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
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.LockAcquire;
import dev.buildnet.internal.protocol.Payloads.LockRelease;
import dev.buildnet.internal.protocol.Payloads.LockRenew;
import dev.buildnet.internal.protocol.Payloads.LockResponse;
import dev.buildnet.internal.protocol.Payloads.StateDelete;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateIncrement;
import dev.buildnet.internal.protocol.Payloads.StateKeys;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@link RemoteClient#state()}: every operation is one request to the master, whose backend does
 * the work (and measures TTLs and leases on its own clock). Arguments are checked here first, with
 * the same messages as the local backends, so misuse never costs a round trip.
 */
final class RemoteStateBackend implements StateBackend {
  private static final StateCapabilities CAPABILITIES = new StateCapabilities(true, true, true, false);

  private final RemoteClient client;
  private final String name;
  private volatile boolean closed;

  RemoteStateBackend(RemoteClient client) {
    this.client = client;
    this.name = "remote:" + client.where();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Shared by many processes, with distributed locks; persistence is the master's backend's, which
   * the protocol does not report, so it is assumed. No pub/sub over the protocol.
   */
  @Override
  public StateCapabilities capabilities() {
    return CAPABILITIES;
  }

  @Override
  public Optional<byte[]> get(String key) {
    open();
    requireKey(key);
    StateResponse r = state(new StateGet(key), "get of key '" + key + "'", false);
    return r.found() ? Optional.of(r.value() == null ? new byte[0] : r.value()) : Optional.empty();
  }

  @Override
  public void set(String key, byte[] value) {
    open();
    requireKey(key);
    requireValue(value, "value");
    state(new StateSet(key, value.clone(), null), "set of key '" + key + "'", true);
  }

  @Override
  public void set(String key, byte[] value, Duration ttl) {
    open();
    requireKey(key);
    requireValue(value, "value");
    long ttlMs = millis(requireTtl(ttl, "ttl"));
    state(new StateSet(key, value.clone(), ttlMs), "set of key '" + key + "'", true);
  }

  @Override
  public boolean delete(String key) {
    open();
    requireKey(key);
    return state(new StateDelete(key), "delete of key '" + key + "'", true).found();
  }

  @Override
  public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
    open();
    requireKey(key);
    requireValue(value, "value");
    Long ttlMs = ttl == null ? null : millis(requireTtl(ttl, "ttl"));
    needsMinor1("setIfAbsent");
    StateResponse r = state(new StateSet(key, value.clone(), ttlMs, true, null),
        "setIfAbsent of key '" + key + "'", true);
    return applied(r);
  }

  @Override
  public boolean compareAndSet(String key, byte[] expected, byte[] update) {
    open();
    requireKey(key);
    requireValue(update, "update");
    needsMinor1("compareAndSet");
    StateSet request = expected == null
        ? new StateSet(key, update.clone(), null, true, null)
        : new StateSet(key, update.clone(), null, null, expected.clone());
    return applied(state(request, "compareAndSet of key '" + key + "'", true));
  }

  @Override
  public List<String> keys(String prefix) {
    open();
    requirePrefix(prefix);
    needsMinor1("keys");
    StateResponse r = state(new StateKeys(prefix), "keys with prefix '" + prefix + "'", false);
    return r.keys() == null ? List.of() : r.keys();
  }

  @Override
  public long increment(String key, long delta) {
    open();
    requireKey(key);
    needsMinor1("increment");
    StateResponse r = state(new StateIncrement(key, delta), "increment of key '" + key + "'", true);
    if (r.number() == null) {
      throw new StateException(name + ": the master's answer to increment of key '" + key
          + "' lacks the new value");
    }
    return r.number();
  }

  @Override
  public Optional<Lock> acquireLock(String resource, Duration ttl, String owner) {
    open();
    requireName(resource, "resource");
    long leaseMs = millis(requireTtl(ttl, "ttl"));
    requireName(owner, "owner");
    LockResponse r = lock(new LockAcquire(resource, owner, leaseMs, null),
        "lock of '" + resource + "' for '" + owner + "'", null);
    if (!r.granted()) {
      return Optional.empty();
    }
    return Optional.of(granted(resource, owner, r));
  }

  @Override
  public Lock renew(Lock lock, Duration ttl) {
    open();
    requireLock(lock);
    long leaseMs = millis(requireTtl(ttl, "ttl"));
    needsMinor1("renew");
    LockResponse r = lock(
        new LockRenew(lock.resource(), lock.owner(), Long.toString(lock.fencingToken()), leaseMs),
        "renewal of the lock on '" + lock.resource() + "'", lock);
    if (!r.granted()) {
      throw StateException.lockNotHeld(lock, name + ": the master did not renew " + lock);
    }
    return granted(lock.resource(), lock.owner(), r);
  }

  @Override
  public void release(Lock lock) {
    open();
    requireLock(lock);
    lock(new LockRelease(lock.resource(), Long.toString(lock.fencingToken()), lock.owner()),
        "release of the lock on '" + lock.resource() + "'", lock);
  }

  @Override
  public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    throw new UnsupportedOperationException(name + " does not support pub/sub");
  }

  @Override
  public void publish(String channel, byte[] message) {
    throw new UnsupportedOperationException(name + " does not support pub/sub");
  }

  /** Closes this view only; the {@link RemoteClient} stays connected. Idempotent. */
  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return name;
  }

  // ---- requests ------------------------------------------------------------------------------

  private StateResponse state(Payload request, String what, boolean write) {
    Message reply = send(request, what, write, null);
    if (reply.payload() instanceof StateResponse r) {
      return r;
    }
    throw unexpected(what, reply);
  }

  private LockResponse lock(Payload request, String what, Lock presented) {
    Message reply = send(request, what, true, presented);
    if (reply.payload() instanceof LockResponse r) {
      return r;
    }
    throw unexpected(what, reply);
  }

  private Message send(Payload request, String what, boolean write, Lock presented) {
    try {
      return client.call(request, what, write);
    } catch (RemoteErrorException e) {
      String message = e.remoteMessage();
      ErrorCode code = e.code().orElse(ErrorCode.INTERNAL);
      switch (code) {
        case LOCK_NOT_HELD -> {
          if (presented != null) {
            throw StateException.lockNotHeld(presented, message);
          }
          throw new StateException(name + ": " + message, e);
        }
        case STATE_ERROR -> throw new StateException(message, e);
        case INVALID_PAYLOAD -> throw new IllegalArgumentException(message, e);
        default -> throw new StateException(name + ": the master refused the " + what + ": "
            + e.getMessage(), e);
      }
    }
  }

  private StateException unexpected(String what, Message reply) {
    return new StateException(name + ": the master answered the " + what + " with " + reply.type());
  }

  private static boolean applied(StateResponse r) {
    return Boolean.TRUE.equals(r.applied());
  }

  private static Lock granted(String resource, String owner, LockResponse r) {
    if (r.token() == null || r.expiresAt() == null) {
      throw new StateException("the master granted the lock on '" + resource
          + "' without a token or expiry (a protocol 1.0 master cannot serve locks to this client)");
    }
    long token;
    try {
      token = Long.parseLong(r.token());
    } catch (NumberFormatException e) {
      throw new StateException("the master granted the lock on '" + resource
          + "' with token '" + r.token() + "', which is not a decimal fencing token", e);
    }
    return new Lock(resource, owner, token, Instant.ofEpochMilli(r.expiresAt()));
  }

  private void needsMinor1(String operation) {
    if (client.minorVersion() < 1) {
      throw new StateException(name + ": the master speaks protocol 1.0, which lacks " + operation
          + " (since 1.1)");
    }
  }

  // ---- arguments (the same words as the local backends) ----------------------------------------

  private void open() {
    if (closed || client.isClosed()) {
      throw new IllegalStateException(name + " is closed");
    }
  }

  /** Whole milliseconds, a sub-millisecond rest rounded up, saturating: as the local backends. */
  private static long millis(Duration ttl) {
    try {
      long ms = ttl.toMillis();
      return ttl.getNano() % 1_000_000 != 0 ? Math.addExact(ms, 1) : ms;
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
