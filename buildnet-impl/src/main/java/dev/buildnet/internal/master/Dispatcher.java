package dev.buildnet.internal.master;

import dev.buildnet.api.blob.BlobException;
import dev.buildnet.client.RemoteBlobs;
import dev.buildnet.worker.Worker;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.TargetCancel;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Places target attempts on the master's connected workers and tracks them until they end: the
 * build engine's view of the workers (BuildNet uses it; hosts rarely need to).
 *
 * <p>A placement claims the attempt's CPU slots and memory against what the worker advertised
 * (the same accounting RESOURCE_CLAIM uses), on the least loaded worker that offers every
 * required capability. An attempt is known by (build, target, attempt) and by the worker it was
 * sent to: a BUILD_COMPLETED or BUILD_FAILED that matches no attempt in flight (a superseded
 * attempt, one from a worker declared dead, or another worker's) is rejected, logged and counted
 * ({@link #rejectedResults()}). When a worker leaves or is declared dead, its attempts in flight
 * fail with {@link WorkerLostException}, so the engine can re-queue them elsewhere.
 *
 * <p>Thread-safe; no method blocks on the network.
 *
 * @since 0.1
 */
public final class Dispatcher {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final WorkerRegistry registry;
  private final Map<Key, Attempt> inFlight = new ConcurrentHashMap<>();
  /** BUILD_PROGRESS names no attempt: this finds its attempt without scanning {@link #inFlight}. */
  private final Map<ProgressKey, Attempt> byTarget = new ConcurrentHashMap<>();
  private final List<Runnable> changeListeners = new CopyOnWriteArrayList<>();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong claims = new AtomicLong();

  Dispatcher(WorkerRegistry registry) {
    this.registry = registry;
    registry.addListener(e -> {
      if (e.kind() != WorkerEvent.Kind.JOINED) {
        lost(e.worker().id(), e.kind() == WorkerEvent.Kind.DEAD
            ? "worker '" + e.worker().id() + "' was declared dead: " + e.reason()
            : "worker '" + e.worker().id() + "' left: " + e.reason());
      }
      changed();
    });
  }

  /** The failure of an attempt whose worker left or died; the attempt may be re-queued. */
  public static final class WorkerLostException extends BuildNetException {
    private static final long serialVersionUID = 1L;

    public WorkerLostException(String message) {
      super(message);
    }
  }

  /** How an attempt ended on its worker: BUILD_COMPLETED or BUILD_FAILED. */
  public record Result(String workerId, BuildCompleted completed, BuildFailed failed) {
    public boolean succeeded() {
      return completed != null;
    }
  }

  private record Key(String buildId, String target, long attempt) {}

  private record ProgressKey(WorkerRegistry.Worker worker, String buildId, String target) {}

  private static final class Attempt {
    final WorkerRegistry.Worker worker;
    final Consumer<BuildProgress> progress;
    final CompletableFuture<Result> result = new CompletableFuture<>();
    /**
     * Its entry in {@code byTarget}: made once, where the attempt is made, and used again to
     * remove it, instead of a second key built (and hashed) when its result arrives.
     */
    final ProgressKey progressKey;

    Attempt(WorkerRegistry.Worker worker, Consumer<BuildProgress> progress, Key key) {
      this.worker = worker;
      this.progress = progress;
      this.progressKey = new ProgressKey(worker, key.buildId(), key.target());
    }
  }

  /** Calls {@code listener} (on some thread) whenever workers join, leave or free capacity. */
  public void onChange(Runnable listener) {
    changeListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Whether a connected worker offers {@code requires} and advertises at least these resources,
   * so the attempt can run once capacity frees up.
   */
  public boolean couldRun(Set<String> requires, int cpuSlots, long memoryMb) {
    for (WorkerRegistry.Worker w : registry.connectedArray()) {
      if (!w.draining && capable(w, requires) && w.hello.cpuSlots() >= cpuSlots
          && w.hello.memoryMb() >= memoryMb) {
        return true;
      }
    }
    return false;
  }

  /** What connected workers offer, for an error that says why nothing can run a target. */
  public String describeWorkers() {
    List<String> parts = new ArrayList<>();
    for (WorkerRegistry.Worker w : registry.connected()) {
      parts.add(w.id() + " " + w.capabilities() + " " + w.hello.cpuSlots() + " slots "
          + w.hello.memoryMb() + " MB");
    }
    return parts.isEmpty() ? "no worker is connected" : "connected: " + String.join("; ", parts);
  }

  /**
   * Claims the resources on the least loaded capable worker not in {@code exclude}; empty if none
   * has them free now.
   */
  public Optional<Placement> tryPlace(
      Set<String> requires, int cpuSlots, long memoryMb, Collection<String> exclude) {
    return tryPlace(requires, cpuSlots, memoryMb, exclude, null);
  }

  /**
   * As above, but the worker {@code preferred} (e.g. the one that kept the attempt's inputs:
   * deferred outputs) wins over less loaded ones whenever it is capable and has the resources free.
   */
  public Optional<Placement> tryPlace(Set<String> requires, int cpuSlots, long memoryMb,
      Collection<String> exclude, String preferred) {
    WorkerRegistry.Worker best = null;
    double bestLoad = Double.MAX_VALUE;
    for (WorkerRegistry.Worker w : registry.connectedArray()) {
      if (!capable(w, requires) || exclude.contains(w.id()) || !w.connection.isOpen()
          || w.draining) {
        continue;
      }
      double load = w.id().equals(preferred) ? -1 : w.load();
      if (load < bestLoad && w.fits(cpuSlots, memoryMb)) {
        best = w;
        bestLoad = load;
      }
    }
    if (best == null) {
      return Optional.empty();
    }
    String claimId = "dispatch-" + claims.incrementAndGet();
    if (!best.tryClaim(claimId, cpuSlots, memoryMb)) {
      return Optional.empty(); // raced with another claim; the caller tries again later
    }
    return Optional.of(new Placement(best, claimId));
  }

  /**
   * Gives the connected worker {@code workerId} no new attempts; those it runs finish normally.
   * Lasts until it reconnects. Returns false if no such worker is connected.
   */
  public boolean drain(String workerId) {
    for (WorkerRegistry.Worker w : registry.connected()) {
      if (w.id().equals(workerId)) {
        w.draining = true;
        log.info("worker '{}' is draining: no new attempts", workerId);
        changed();
        return true;
      }
    }
    return false;
  }

  /** Whether worker {@code workerId} is connected now. */
  public boolean isConnected(String workerId) {
    for (WorkerRegistry.Worker w : registry.connected()) {
      if (w.id().equals(workerId) && w.connection.isOpen()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Downloads blob {@code digest} from the store of the connected worker {@code workerId} (BLOB_GET
   * sent to the worker, which kept it: TARGET_RUN {@code keep_outputs}) into {@code destination},
   * verified against the digest.
   *
   * @throws BlobException ({@code TRANSFER}) if that worker is not connected, lacks the blob, or
   *     the transfer fails
   */
  public void fetch(String workerId, dev.buildnet.api.hash.Digest digest,
      dev.buildnet.api.hash.HashProvider hashes, java.nio.file.Path destination) {
    for (WorkerRegistry.Worker w : registry.connected()) {
      if (w.id().equals(workerId) && w.connection.isOpen()) {
        RemoteBlobs.over(w.connection, hashes, Duration.ofSeconds(30), Duration.ofMinutes(30))
            .download(digest, destination);
        return;
      }
    }
    throw new BlobException(BlobException.Reason.TRANSFER, digest, "worker '" + workerId
        + "', which kept blob " + digest + ", is not connected");
  }

  /**
   * Whether the connected worker {@code workerId} still holds blob {@code digest} of {@code size}
   * bytes, intact: a BLOB_GET from offset {@code size}, which a worker answers (as the master's
   * blob service does) only after hashing the whole blob, with an empty final chunk, or ERROR
   * {@code NOT_FOUND} / {@code DIGEST_MISMATCH}. No bytes of the blob cross the wire. False if the
   * worker is not connected, says no, or does not answer within {@code timeout}.
   */
  public boolean holds(String workerId, dev.buildnet.api.hash.Digest digest, long size,
      Duration timeout) {
    for (WorkerRegistry.Worker w : registry.connected()) {
      if (w.id().equals(workerId) && w.connection.isOpen()) {
        try {
          Message last = w.connection.request(
              new dev.buildnet.internal.protocol.Payloads.BlobGet(digest.toString(), size, 1L),
              timeout, m -> { }).get(timeout.toMillis() + 5_000,
              java.util.concurrent.TimeUnit.MILLISECONDS);
          return last.payload() instanceof dev.buildnet.internal.protocol.Payloads.BlobChunk c
              && c.last() && digest.toString().equals(c.digest())
              && Long.valueOf(size).equals(c.size());
        } catch (java.util.concurrent.ExecutionException
            | java.util.concurrent.TimeoutException e) {
          log.info("worker '{}' does not hold blob {}: {}", workerId, digest,
              e.getCause() != null ? e.getCause().getMessage() : e.toString());
          return false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return false;
  }

  /** Whether a worker not in {@code exclude} has a CPU slot free. */
  public boolean hasFreeSlot(Collection<String> exclude) {
    for (WorkerRegistry.Worker w : registry.connectedArray()) {
      if (!exclude.contains(w.id()) && !w.draining && w.fits(1, 0)) {
        return true;
      }
    }
    return false;
  }

  /** The ids of workers that offer {@code requires}: those a waiting attempt reserves. */
  public List<String> capableWorkers(Set<String> requires) {
    List<String> ids = new ArrayList<>();
    for (WorkerRegistry.Worker w : registry.connectedArray()) {
      if (capable(w, requires) && !w.draining) {
        ids.add(w.id());
      }
    }
    return ids;
  }

  /** Results that matched no attempt in flight and were ignored. */
  public long rejectedResults() {
    return rejected.get();
  }

  /** Attempts sent to workers and not yet ended. */
  public int inFlight() {
    return inFlight.size();
  }

  private static boolean capable(WorkerRegistry.Worker w, Set<String> requires) {
    // Runs for every worker on every placement try. A target's capabilities are a sorted set,
    // usually of one: first() finds it without the two iterators containsAll would allocate.
    if (requires.isEmpty()) {
      return true;
    }
    if (requires.size() == 1 && requires instanceof java.util.SortedSet<String> one) {
      return w.capabilities().contains(one.first());
    }
    return w.capabilities().containsAll(requires);
  }

  /**
   * Resources claimed on one worker for one attempt; {@link #release()} them when the attempt has
   * ended (idempotent).
   */
  public final class Placement {
    private final WorkerRegistry.Worker worker;
    private final String claimId;
    private volatile Key key;
    private volatile boolean released;

    private Placement(WorkerRegistry.Worker worker, String claimId) {
      this.worker = worker;
      this.claimId = claimId;
    }

    public String workerId() {
      return worker.id();
    }

    /** Whether the placement's worker advertised {@code capability} in its HELLO. */
    public boolean offers(String capability) {
      return worker.capabilities().contains(capability);
    }

    /**
     * Sends the attempt; the future completes with its result, or fails with {@link
     * WorkerLostException} if the worker leaves, dies or refuses it (e.g. BUSY). {@code progress}
     * gets its BUILD_PROGRESS messages (log lines) on the connection's reader thread.
     */
    public CompletableFuture<Result> run(TargetRun run, Consumer<BuildProgress> progress) {
      Key k = new Key(run.buildId(), run.target(), run.attempt());
      Attempt a = new Attempt(worker, progress, k);
      if (inFlight.putIfAbsent(k, a) != null) {
        throw new IllegalStateException("attempt " + k + " is in flight already");
      }
      ProgressKey pk = a.progressKey;
      byTarget.put(pk, a);
      if (inFlight.get(k) != a) {
        byTarget.remove(pk, a); // ended meanwhile (its worker was lost): remove() ran before put()
      }
      this.key = k;
      if (!worker.connection.isOpen()) {
        fail(k, a, new WorkerLostException("worker '" + worker.id() + "' is disconnected"));
        return a.result;
      }
      // Batched: the engine corks while it dispatches the attempts that results arriving together
      // made room for, and their TARGET_RUNs then leave together (see Cork).
      worker.connection.requestBatched(run, START_TIMEOUT).whenComplete((reply, e) -> {
        if (e != null) {
          Throwable cause = e instanceof CompletionException ? e.getCause() : e;
          String why = cause instanceof RemoteErrorException r
              ? "worker '" + worker.id() + "' refused attempt " + run.attempt() + " of '"
                  + run.target() + "': " + r.getMessage()
              : "worker '" + worker.id() + "' did not start attempt " + run.attempt() + " of '"
                  + run.target() + "': " + cause.getMessage();
          fail(k, a, new WorkerLostException(why));
        }
      });
      return a.result;
    }

    /** Asks the worker to stop the attempt (TARGET_CANCEL); its result follows as a failure. */
    public void cancel(String reason) {
      Key k = key;
      if (k != null && inFlight.containsKey(k)) {
        worker.connection.send(new TargetCancel(k.buildId(), k.target(), k.attempt(), reason));
      }
    }

    /** Returns the claimed resources to the worker. Idempotent. */
    public void release() {
      if (!released) {
        released = true;
        worker.releaseClaim(claimId); // the engine dispatches again itself once an attempt ends
      }
    }
  }

  /**
   * A worker's BUILD_PROGRESS, BUILD_COMPLETED or BUILD_FAILED about a target attempt; returns
   * false if {@code m} is not one.
   */
  boolean onWorkerMessage(WorkerRegistry.Worker from, Message m) {
    if (m.payload() instanceof BuildProgress p && p.target() != null) {
      Attempt a = byTarget.get(new ProgressKey(from, p.buildId(), p.target()));
      if (a != null) {
        a.progress.accept(p);
      }
      return true;
    }
    if (m.payload() instanceof BuildCompleted c && c.target() != null && c.attempt() != null) {
      settle(from, new Key(c.buildId(), c.target(), c.attempt()), new Result(from.id(), c, null));
      return true;
    }
    if (m.payload() instanceof BuildFailed f && f.target() != null && f.attempt() != null) {
      settle(from, new Key(f.buildId(), f.target(), f.attempt()), new Result(from.id(), null, f));
      return true;
    }
    return false;
  }

  private void settle(WorkerRegistry.Worker from, Key key, Result result) {
    Attempt a = inFlight.get(key);
    if (a == null || a.worker != from || !remove(key, a)) {
      rejected.incrementAndGet();
      log.warn("rejected a late or unknown result from worker '{}' for attempt {} of '{}' in build"
          + " {}: no such attempt is in flight there (superseded or re-queued)", from.id(),
          key.attempt(), key.target(), key.buildId());
      return;
    }
    a.result.complete(result);
  }

  private boolean remove(Key key, Attempt a) {
    if (!inFlight.remove(key, a)) {
      return false;
    }
    byTarget.remove(a.progressKey, a); // inFlight held key -> a: a's own key, equal to key
    return true;
  }

  private void fail(Key key, Attempt a, WorkerLostException e) {
    if (remove(key, a)) {
      a.result.completeExceptionally(e);
    }
  }

  private void lost(String workerId, String why) {
    for (Map.Entry<Key, Attempt> e : inFlight.entrySet()) {
      if (e.getValue().worker.id().equals(workerId) && !registry.isCurrent(e.getValue().worker)) {
        fail(e.getKey(), e.getValue(), new WorkerLostException(why));
      }
    }
  }

  /**
   * A worker's RESOURCE_RELEASE returned capacity: attempts waiting for it may fit now. Without
   * this they would wait for some other change (a worker joining, an attempt ending), and with
   * none coming, until their placement timeout, beside an idle worker.
   */
  void capacityFreed() {
    changed();
  }

  private void changed() {
    for (Runnable r : changeListeners) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("dispatcher listener {} failed", r, e);
      }
    }
  }
}
