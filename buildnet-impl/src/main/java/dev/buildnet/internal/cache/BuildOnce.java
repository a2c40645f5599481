package dev.buildnet.internal.cache;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each cache key at most once at a time across every process that shares a
 * {@link StateBackend} with distributed locks (several masters on one Redis): the first to miss
 * the cache takes a lease on {@code build/<key>} and runs the target; the others wait for its
 * result to appear in the action cache and take it from there.
 *
 * <p>The lease is renewed every third of its length while the holder runs; a holder that dies
 * stops renewing, its lease lapses, and a waiter takes it over and runs the target itself. A
 * waiter gives up waiting after {@code maxWait} and runs the target too. Both make duplicate runs
 * possible (as does a lease lost to a pause longer than the lease), which is safe: outputs are
 * content-addressed and the manifest a duplicate records describes the same action. Build-once
 * saves work; it is not what keeps the cache correct.
 *
 * <p>Thread-safe. {@link #claim} blocks (polling with back-off up to 500 ms) while a peer holds the
 * key. One daemon thread, {@code buildnet-build-once}, renews leases; {@link #close()} stops it.
 */
public final class BuildOnce implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BuildOnce.class);
  private static final String PREFIX = "build/";
  private static final long MAX_POLL_MILLIS = 500;

  private final StateBackend state;
  private final String owner;
  private final Duration lease;
  private final Duration maxWait;
  private final ScheduledExecutorService renewer;

  /**
   * @param owner who this process is, as lock holders are shown (unique per process)
   * @param lease how long a lease lasts without renewal: how long a dead holder blocks others
   * @param maxWait how long to wait for a live holder before running the target anyway
   */
  public BuildOnce(StateBackend state, String owner, Duration lease, Duration maxWait) {
    this.state = Objects.requireNonNull(state, "state");
    this.owner = Objects.requireNonNull(owner, "owner");
    if (!state.capabilities().distributedLocks()) {
      throw new IllegalArgumentException("build-once needs a state backend whose locks exclude "
          + "other processes, and " + state.name() + " has none");
    }
    if (lease.toMillis() < 30) {
      throw new IllegalArgumentException("lease must be at least 30 ms but was " + lease);
    }
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("maxWait must not be negative but was " + maxWait);
    }
    this.lease = lease;
    this.maxWait = maxWait;
    this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "buildnet-build-once");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Waits until this caller may run {@code key}, or a peer's result for it is in the cache.
   *
   * @param lookup the action cache lookup for {@code key} (a hit means someone finished it)
   * @param cancelled polled while waiting; true ends the wait with {@link Turn#none()}
   * @return a turn holding the lease (close it when the result is recorded), or carrying the
   *     peer's result, or neither if the wait gave up ({@code maxWait}, cancellation)
   */
  public Turn claim(Digest key, Supplier<Optional<ActionManifest>> lookup,
      BooleanSupplier cancelled) {
    String resource = PREFIX + key;
    long deadline = System.nanoTime() + maxWait.toNanos();
    long poll = 20;
    while (true) {
      Optional<Lock> lock = state.acquireLock(resource, lease, owner);
      if (lock.isPresent()) {
        // A peer may have finished (and released) between our miss and this grant.
        Optional<ActionManifest> hit = lookup.get();
        if (hit.isPresent()) {
          releaseQuietly(lock.get());
          return new Turn(null, hit);
        }
        Turn turn = new Turn(this, Optional.empty());
        turn.hold(lock.get());
        return turn;
      }
      Optional<ActionManifest> hit = lookup.get();
      if (hit.isPresent()) {
        return new Turn(null, hit);
      }
      if (cancelled.getAsBoolean()) {
        return Turn.none();
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        LOG.warn("{} is still held by a peer after {}; running it here too", resource, maxWait);
        return Turn.none();
      }
      try {
        TimeUnit.MILLISECONDS.sleep(Math.min(poll, TimeUnit.NANOSECONDS.toMillis(left) + 1));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Turn.none();
      }
      poll = Math.min(MAX_POLL_MILLIS, poll * 2);
    }
  }

  private ScheduledFuture<?> scheduleRenewal(Lock granted, Turn turn) {
    long period = Math.max(10, lease.toMillis() / 3);
    Lock[] current = {granted};
    return renewer.scheduleAtFixedRate(() -> {
      try {
        synchronized (turn) {
          if (turn.closed) {
            return;
          }
          current[0] = state.renew(current[0], lease);
        }
      } catch (StateException e) {
        if (e.reason() == StateException.Reason.LOCK_NOT_HELD) {
          LOG.warn("lost the build lease: {}; a peer may run the target too", e.getMessage());
          throw e; // ends the schedule
        }
        LOG.warn("renewing the build lease on {} failed; retrying: {}", granted.resource(),
            e.getMessage());
      }
    }, period, period, TimeUnit.MILLISECONDS);
  }

  private void releaseQuietly(Lock lock) {
    try {
      state.release(lock);
    } catch (StateException | IllegalStateException e) {
      if (e instanceof StateException s && s.reason() == StateException.Reason.LOCK_NOT_HELD) {
        LOG.debug("build lease was gone at release: {}", e.getMessage());
      } else {
        LOG.warn("releasing the build lease on {} failed (it lapses on its own): {}",
            lock.resource(), e.getMessage());
      }
    }
  }

  /** Stops renewing leases (running holders' leases then lapse). Idempotent. */
  @Override
  public void close() {
    renewer.shutdownNow();
  }

  /** The outcome of {@link #claim}. Close it once the result is recorded. */
  public static final class Turn implements AutoCloseable {
    private static final Turn NONE = new Turn(null, Optional.empty());

    private final BuildOnce owner;
    private final Optional<ActionManifest> peerResult;
    private Lock lock;
    private ScheduledFuture<?> renewal;
    private boolean closed;

    private Turn(BuildOnce owner, Optional<ActionManifest> peerResult) {
      this.owner = owner;
      this.peerResult = peerResult;
    }

    private synchronized void hold(Lock granted) {
      this.lock = granted;
      this.renewal = owner.scheduleRenewal(granted, this);
    }

    /** A turn that neither holds the lease nor carries a result: run the target unprotected. */
    public static Turn none() {
      return NONE;
    }

    /** What a peer recorded for the key while this caller waited. */
    public Optional<ActionManifest> peerResult() {
      return peerResult;
    }

    /** Whether this caller holds the lease. */
    public synchronized boolean holdsLease() {
      return lock != null;
    }

    /** Stops renewing and releases the lease, if held. Idempotent. */
    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      if (lock != null) {
        renewal.cancel(false);
        owner.releaseQuietly(lock);
      }
    }
  }
}
