package dev.buildnet.internal.master;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
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
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves STATE_* and LOCK_* requests from a {@link StateBackend}: one request in, one reply
 * payload out, or a {@link RequestError}. Fencing tokens travel as decimal text.
 */
final class StateService {
  private static final Logger log = LoggerFactory.getLogger(StateService.class);

  private final StateBackend backend;
  // The latest lease granted through this master per lock name, so that a 1.0 LOCK_RELEASE
  // (token without holder) can still name the owner to the backend.
  private final Map<String, Lock> granted = new ConcurrentHashMap<>();

  StateService(StateBackend backend) {
    this.backend = backend;
  }

  /** Whether this service answers {@code payload}. */
  static boolean serves(Payload payload) {
    return payload instanceof StateGet || payload instanceof StateSet
        || payload instanceof StateDelete || payload instanceof StateKeys
        || payload instanceof StateIncrement || payload instanceof LockAcquire
        || payload instanceof LockRenew || payload instanceof LockRelease;
  }

  /** The reply to request {@code m}; throws {@link RequestError} for an ERROR reply. */
  Payload handle(Message m) {
    String id = m.id();
    try {
      Payload p = m.payload();
      if (p instanceof StateGet g) {
        Optional<byte[]> v = backend.get(g.key());
        return new StateResponse(id, v.isPresent(), v.orElse(null));
      } else if (p instanceof StateSet s) {
        return set(id, s);
      } else if (p instanceof StateDelete d) {
        return new StateResponse(id, backend.delete(d.key()), null);
      } else if (p instanceof StateKeys k) {
        List<String> keys = backend.keys(k.prefix());
        return new StateResponse(id, !keys.isEmpty(), null, null, null, keys);
      } else if (p instanceof StateIncrement i) {
        return new StateResponse(id, true, null, null, backend.increment(i.key(), i.delta()), null);
      } else if (p instanceof LockAcquire a) {
        return acquire(id, a);
      } else if (p instanceof LockRenew r) {
        return renew(id, r);
      } else if (p instanceof LockRelease r) {
        return release(id, r);
      }
      throw new IllegalStateException("not a state request: " + m.type());
    } catch (RequestError e) {
      throw e;
    } catch (StateException e) {
      throw new RequestError(e.reason() == StateException.Reason.LOCK_NOT_HELD
          ? ErrorCode.LOCK_NOT_HELD : ErrorCode.STATE_ERROR, e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, e.getMessage());
    } catch (IllegalStateException e) {
      log.warn("{} {} failed on state backend {}", m.type(), id, backend.name(), e);
      throw new RequestError(ErrorCode.INTERNAL,
          "the master's state backend " + backend.name() + " failed: " + e.getMessage());
    }
  }

  private StateResponse set(String id, StateSet s) {
    Duration ttl = s.ttlMs() == null ? null : Duration.ofMillis(s.ttlMs());
    if (s.expected() != null) {
      boolean swapped = backend.compareAndSet(s.key(), s.expected(), s.value());
      return new StateResponse(id, swapped, null, swapped, null, null);
    }
    if (Boolean.TRUE.equals(s.ifAbsent())) {
      boolean stored = backend.setIfAbsent(s.key(), s.value(), ttl);
      return new StateResponse(id, !stored, null, stored, null, null);
    }
    // The StateBackend API does not say whether a set replaced something; a read first is the
    // closest answer (a concurrent writer may slip in between).
    boolean existed = backend.get(s.key()).isPresent();
    if (ttl == null) {
      backend.set(s.key(), s.value());
    } else {
      backend.set(s.key(), s.value(), ttl);
    }
    return new StateResponse(id, existed, null);
  }

  private LockResponse acquire(String id, LockAcquire a) {
    // wait_ms is a permission, not a duty: this master answers at once.
    Optional<Lock> lock = backend.acquireLock(a.name(), Duration.ofMillis(a.leaseMs()), a.holder());
    if (lock.isEmpty()) {
      return new LockResponse(id, false, null, null, null, null);
    }
    granted.put(a.name(), lock.get());
    return grant(id, lock.get(), a.leaseMs());
  }

  private LockResponse renew(String id, LockRenew r) {
    Lock presented = new Lock(r.name(), r.holder(), token(r.name(), r.holder(), r.token()), Instant.EPOCH);
    Lock renewed = backend.renew(presented, Duration.ofMillis(r.leaseMs()));
    granted.put(r.name(), renewed);
    return grant(id, renewed, r.leaseMs());
  }

  private LockResponse release(String id, LockRelease r) {
    String holder = r.holder();
    if (holder == null) {
      Lock known = granted.get(r.name());
      if (known == null || !Long.toString(known.fencingToken()).equals(r.token())) {
        throw new RequestError(ErrorCode.LOCK_NOT_HELD,
            "lock on '" + r.name() + "' with fencing token " + r.token() + " is not held through this"
                + " master (LOCK_RELEASE without holder names only leases this master granted)");
      }
      holder = known.owner();
    }
    long token = token(r.name(), holder, r.token());
    backend.release(new Lock(r.name(), holder, token, Instant.EPOCH));
    granted.computeIfPresent(r.name(), (k, v) -> v.fencingToken() == token ? null : v);
    return new LockResponse(id, true, r.token(), holder, null, null);
  }

  private static LockResponse grant(String id, Lock lock, long leaseMs) {
    return new LockResponse(id, true, Long.toString(lock.fencingToken()), lock.owner(), leaseMs,
        lock.expiresAt().toEpochMilli());
  }

  private static long token(String name, String holder, String token) {
    try {
      long t = Long.parseLong(token);
      if (t >= 1) {
        return t;
      }
    } catch (NumberFormatException e) {
      // falls through: not a token this master issued
    }
    throw new RequestError(ErrorCode.LOCK_NOT_HELD,
        "lock on '" + name + "' held by '" + holder + "' with fencing token " + token
            + " is not held: this master issues decimal tokens from 1");
  }
}
