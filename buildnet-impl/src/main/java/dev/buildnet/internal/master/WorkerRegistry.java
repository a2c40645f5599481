package dev.buildnet.internal.master;

import dev.buildnet.worker.Worker;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Payloads.ResourceClaim;
import dev.buildnet.internal.protocol.Payloads.ResourceRelease;
import dev.buildnet.internal.protocol.Payloads.ResourceStatus;
import dev.buildnet.internal.transport.Session;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workers connected to a master: their advertised resources, liveness on the master's
 * monotonic clock, and resource claims. Thread-safe; events go to listeners through one serial
 * executor, so they arrive in the order the registry changed.
 */
final class WorkerRegistry {
  private static final Logger log = LoggerFactory.getLogger(WorkerRegistry.class);

  private final LongSupplier nanos;
  private final Clock clock;
  private final long timeoutNanos;
  private final Duration timeout;
  private final Executor events;
  private final Map<String, Worker> workers = new ConcurrentHashMap<>();
  /**
   * {@link #workers}' values as of its last change: placement reads them for every target, and an
   * array costs no iterator each time. Refreshed after every change, one refresh at a time, so
   * the last one to run saw every change before it.
   */
  private volatile Worker[] current = new Worker[0];
  private final List<WorkerListener> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  WorkerRegistry(LongSupplier nanos, Clock clock, Duration timeout, Executor events) {
    this.nanos = nanos;
    this.clock = clock;
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.events = events;
  }

  private record Claim(long cpuSlots, long memoryMb) {}

  /** One registered worker; the mutable parts are guarded by {@code this}. */
  final class Worker {
    final Session connection;
    final Hello hello;
    final String runtime;
    final Instant connectedAt;
    private volatile long lastSeenNanos;
    private volatile long running;
    volatile boolean draining; // gets no new attempts
    private final Map<String, Claim> claims = new HashMap<>();
    private long claimedCpu;
    private long claimedMemory;

    Worker(Session connection) {
      this.connection = connection;
      this.hello = connection.peerHello();
      this.runtime = connection.peerRuntime() == null ? "unknown" : connection.peerRuntime();
      this.connectedAt = clock.instant();
      this.lastSeenNanos = nanos.getAsLong();
    }

    String id() {
      return hello.peerId();
    }

    /** The capabilities it advertised; empty if its HELLO named none. */
    List<String> capabilities() {
      return hello.capabilities() == null ? List.of() : hello.capabilities();
    }

    synchronized WorkerInfo info(long now) {
      return new WorkerInfo(
          id(), runtime, connection.remoteAddress(), capabilities(),
          hello.cpuSlots(), hello.memoryMb(), connectedAt, lastSeenNanos,
          Duration.ofNanos(Math.max(0, now - lastSeenNanos)), running,
          claimedCpu, claimedMemory, claims.size());
    }

    synchronized ResourceStatus claim(String replyTo, ResourceClaim c) {
      long cpuTotal = hello.cpuSlots();
      long memoryTotal = hello.memoryMb();
      Claim existing = claims.get(c.claimId());
      if (existing != null) {
        if (existing.cpuSlots() == c.cpuSlots() && existing.memoryMb() == c.memoryMb()) {
          return status(replyTo, c.claimId(), true); // a repeated claim is not counted twice
        }
        throw new RequestError(ErrorCode.INVALID_PAYLOAD,
            "claim '" + c.claimId() + "' is already open with " + existing.cpuSlots() + " CPU slots and "
                + existing.memoryMb() + " MB; release it before claiming other amounts");
      }
      if (c.cpuSlots() > cpuTotal || c.memoryMb() > memoryTotal) {
        throw new RequestError(ErrorCode.INVALID_PAYLOAD,
            "claim '" + c.claimId() + "' of " + c.cpuSlots() + " CPU slots and " + c.memoryMb()
                + " MB exceeds what worker '" + id() + "' advertised (" + cpuTotal + " slots, "
                + memoryTotal + " MB)");
      }
      if (claimedCpu + c.cpuSlots() > cpuTotal || claimedMemory + c.memoryMb() > memoryTotal) {
        throw new RequestError(ErrorCode.BUSY,
            "claim '" + c.claimId() + "' of " + c.cpuSlots() + " CPU slots and " + c.memoryMb()
                + " MB does not fit: worker '" + id() + "' has " + (cpuTotal - claimedCpu)
                + " slots and " + (memoryTotal - claimedMemory) + " MB free of " + cpuTotal
                + " slots and " + memoryTotal + " MB (" + claims.size() + " open claims)");
      }
      hold(c.claimId(), new Claim(c.cpuSlots(), c.memoryMb()));
      return status(replyTo, c.claimId(), true);
    }

    synchronized ResourceStatus release(String replyTo, ResourceRelease r) {
      if (drop(r.claimId()) == null) {
        throw new RequestError(ErrorCode.NOT_FOUND,
            "worker '" + id() + "' holds no claim '" + r.claimId() + "'");
      }
      return status(replyTo, r.claimId(), true);
    }

    /** Whether the resources are free now. */
    synchronized boolean fits(long cpu, long memoryMb) {
      return claimedCpu + cpu <= hello.cpuSlots() && claimedMemory + memoryMb <= hello.memoryMb();
    }

    /** The share of CPU slots claimed, for choosing the least loaded worker. */
    synchronized double load() {
      return (double) claimedCpu / hello.cpuSlots();
    }

    /** Claims resources for a dispatched attempt; false if they are not free now. */
    synchronized boolean tryClaim(String claimId, long cpu, long memoryMb) {
      if (!fits(cpu, memoryMb) || claims.containsKey(claimId)) {
        return false;
      }
      hold(claimId, new Claim(cpu, memoryMb));
      return true;
    }

    /** Releases a dispatched attempt's claim; unknown ids are ignored. */
    synchronized void releaseClaim(String claimId) {
      drop(claimId);
    }

    private void hold(String claimId, Claim claim) {
      claims.put(claimId, claim);
      claimedCpu += claim.cpuSlots();
      claimedMemory += claim.memoryMb();
    }

    /** Removes the claim and returns it; null if there is none by that id. */
    private Claim drop(String claimId) {
      Claim claim = claims.remove(claimId);
      if (claim != null) {
        claimedCpu -= claim.cpuSlots();
        claimedMemory -= claim.memoryMb();
      }
      return claim;
    }

    private ResourceStatus status(String replyTo, String claimId, boolean granted) {
      return new ResourceStatus(replyTo, claimId, granted, hello.cpuSlots() - claimedCpu,
          hello.memoryMb() - claimedMemory, hello.cpuSlots(), hello.memoryMb());
    }
  }

  /** Registers the worker on {@code connection}, replacing an older connection with its id. */
  Worker join(Session connection) {
    Worker worker = new Worker(connection);
    Worker old = workers.put(worker.id(), worker);
    refresh();
    if (old != null) {
      emit(WorkerEvent.Kind.LEFT, old, "replaced by a new connection from " + connection.remoteAddress());
      old.connection.close();
    }
    emit(WorkerEvent.Kind.JOINED, worker, "");
    log.info("worker '{}' joined from {} ({} slots, {} MB, {})", worker.id(),
        connection.remoteAddress(), worker.hello.cpuSlots(), worker.hello.memoryMb(),
        worker.hello.capabilities());
    return worker;
  }

  /** Any frame from the worker shows it is alive (a busy peer sends no HEARTBEAT). */
  void heard(Worker worker, Object payload) {
    worker.lastSeenNanos = nanos.getAsLong();
    if (payload instanceof Heartbeat h && h.running() != null) {
      worker.running = h.running();
    }
  }

  /** The worker's connection ended; {@code timedOut} if the transport's idle timeout ended it. */
  void left(Worker worker, String reason, boolean timedOut) {
    if (workers.remove(worker.id(), worker)) {
      refresh();
      log.info("worker '{}' {}: {}", worker.id(), timedOut ? "is dead" : "left", reason);
      emit(timedOut ? WorkerEvent.Kind.DEAD : WorkerEvent.Kind.LEFT, worker, reason);
    }
  }

  /** Declares dead, and disconnects, every worker silent for the timeout or longer. */
  void checkLiveness() {
    long now = nanos.getAsLong();
    for (Worker w : List.copyOf(workers.values())) {
      long silent = now - w.lastSeenNanos;
      if (silent >= timeoutNanos && workers.remove(w.id(), w)) {
        refresh();
        String reason = "no heartbeat for " + Duration.ofNanos(silent).toMillis()
            + " ms (timeout " + timeout.toMillis() + " ms)";
        log.warn("worker '{}' is dead: {}", w.id(), reason);
        emit(WorkerEvent.Kind.DEAD, w, reason);
        w.connection.close();
      }
    }
  }

  /** The workers registered now. */
  java.util.Collection<Worker> connected() {
    return workers.values();
  }

  /** The workers registered now, as an array the caller must not change. */
  Worker[] connectedArray() {
    return current;
  }

  private synchronized void refresh() {
    current = workers.values().toArray(new Worker[0]);
  }

  /** Whether {@code worker} is still the registered connection for its id. */
  boolean isCurrent(Worker worker) {
    return workers.get(worker.id()) == worker;
  }

  List<WorkerInfo> snapshot() {
    long now = nanos.getAsLong();
    List<WorkerInfo> list = new ArrayList<>();
    for (Worker w : workers.values()) {
      list.add(w.info(now));
    }
    list.sort(Comparator.comparing(WorkerInfo::id));
    return List.copyOf(list);
  }

  void addListener(WorkerListener listener) {
    listeners.add(listener);
  }

  void removeListener(WorkerListener listener) {
    listeners.remove(listener);
  }

  /** No events after this; connections are closed by the transport. */
  void close() {
    closed = true;
    workers.clear();
    refresh();
  }

  private void emit(WorkerEvent.Kind kind, Worker worker, String reason) {
    if (closed) {
      return;
    }
    WorkerEvent event = new WorkerEvent(kind, worker.info(nanos.getAsLong()), reason);
    try {
      events.execute(() -> {
        for (WorkerListener l : listeners) {
          try {
            l.onWorkerEvent(event);
          } catch (RuntimeException e) {
            log.warn("worker listener {} failed on {}", l, event, e);
          }
        }
      });
    } catch (RejectedExecutionException e) {
      log.debug("dropped {}: the event executor is shut down", event);
    }
  }
}
