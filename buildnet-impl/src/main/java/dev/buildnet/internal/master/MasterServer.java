package dev.buildnet.internal.master;

import dev.buildnet.worker.Worker;

import static dev.buildnet.internal.DurationChecks.positive;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.SerialExecutor;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;


/**
 * The master's network services: accepts authenticated workers and clients over {@link
 * TcpTransport}, answers their STATE_* and LOCK_* requests from a {@link StateBackend}, keeps the
 * registry of connected workers (their advertised capabilities and resources, liveness, resource
 * claims) and declares a worker dead when it is silent past the heartbeat timeout. Given a {@link
 * Builder#blobs DiskBlobStore}, it serves BLOB_HAS, BLOB_PUT and BLOB_GET from it: uploads and
 * downloads stream in chunks and every digest is verified (see {@code docs/PROTOCOL.md}, "Blob
 * service"). Given a {@link Builder#builds BuildService}, it runs clients' builds
 * (BUILD_REQUEST, BUILD_CANCEL) and streams build events to subscribers (SUBSCRIBE,
 * UNSUBSCRIBE); without one these, and BLOB_* without a store, get ERROR {@code UNSUPPORTED}.
 *
 * <h2>Use</h2>
 *
 * <pre>{@code
 * MasterServer master = MasterServer.builder()
 *     .state(backend).transport(TransportSettings.ofSecret(secret))
 *     .bindAddress(new InetSocketAddress("0.0.0.0", 7421))   // loopback:0 by default
 *     .start();
 * master.addWorkerListener(e -> log.info("{} {}", e.kind(), e.worker().id()));
 * ...
 * master.close();
 * }</pre>
 *
 * <h2>Threads and cost</h2>
 *
 * The transport's threads (one selector loop for all plaintext connections, two per TLS
 * connection, one timer; {@code buildnet-net-…}); up to {@value #MAX_WORK_THREADS} threads ({@code
 * buildnet-master-work-…}, idle ones end) serving requests that may block, one connection at a
 * time each;
 * one liveness thread ({@code buildnet-master-liveness}) that checks heartbeats every heartbeat
 * interval; one event thread ({@code buildnet-master-events}) for {@link WorkerListener}s unless
 * an event executor is given. Requests of one connection are served in order, so a slow state
 * backend stalls only that connection (and at most {@value #MAX_WORK_THREADS} of them at once). All methods are safe for concurrent use and
 * none blocks except {@link #close()}.
 *
 * <h2>Time</h2>
 *
 * Liveness is measured on the monotonic clock given to {@link Builder#nanoTime} (default {@link
 * System#nanoTime}); any frame from a worker counts as a heartbeat. State TTLs and leases are the
 * backend's business, on its own clock.
 *
 * <h2>Shutdown</h2>
 *
 * {@link #close()} stops listening, closes every connection, ends the master's threads (waiting a
 * bounded time) and is idempotent. No worker events are delivered after it. The state backend is
 * the caller's: the master never closes it.
 *
 * @since 0.1
 */
public final class MasterServer implements AutoCloseable {
  /** {@link Builder#maxBlobBytes} by default: 4 GiB. */
  public static final long DEFAULT_MAX_BLOB_BYTES = 4L << 30;

  /** Threads serving requests that may block (state, blobs, builds); idle ones end after 30 s. */
  static final int MAX_WORK_THREADS = 32;

  /** {@link Builder#maxBlobTransfers} by default. */
  public static final int DEFAULT_MAX_BLOB_TRANSFERS = 16;

  private final String id;
  private final dev.buildnet.internal.transport.SessionTransport transport;
  private final StateService state;
  private final WorkerRegistry registry;
  private final ScheduledThreadPoolExecutor liveness;
  private final ExecutorService ownEvents;
  private final SerialExecutor.Pool work;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Transport.Listener listener;
  private final DiskBlobStore blobs;
  private final BuildService builds;
  private final Dispatcher dispatcher;
  private final int maxUnsentEvents;
  private final long maxBlobBytes;
  private final int maxBlobTransfers;

  private MasterServer(Builder b) {
    this.id = b.id;
    this.blobs = b.blobs;
    this.builds = b.builds;
    this.maxUnsentEvents = b.maxUnsentEvents;
    this.maxBlobBytes = b.maxBlobBytes;
    this.maxBlobTransfers = b.maxBlobTransfers;
    TcpTransport.Builder t = TcpTransport.builder()
        .transport(b.transport)
        .localId(b.id)
        .heartbeatInterval(b.heartbeatInterval)
        // The transport's idle timeout is a backstop in real time; the registry decides on the
        // injected monotonic clock.
        .idleTimeout(b.heartbeatTimeout)
        .clock(b.clock);
    if (b.blobs != null) {
      t.blobAlgorithm(b.blobs.hashes().algorithm());
    }
    this.transport = t.build(b.carrier);
    this.ownEvents = b.eventExecutor == null ? Executors.newSingleThreadExecutor(daemon("buildnet-master-events")) : null;
    Executor events = b.eventExecutor != null ? b.eventExecutor : ownEvents;
    this.registry = new WorkerRegistry(b.nanoTime, b.clock, b.heartbeatTimeout, events);
    this.state = new StateService(b.state);
    this.dispatcher = new Dispatcher(registry);
    this.liveness = new ScheduledThreadPoolExecutor(1, daemon("buildnet-master-liveness"));
    // Requests that may block (state backend, blob store, builds), one connection at a time each;
    // threads come and go with the load, so idle connections hold none.
    this.work = SerialExecutor.pool("buildnet-master-work", MAX_WORK_THREADS);
    liveness.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    try {
      this.listener = transport.listen(b.bindAddress, this::accept);
    } catch (IOException e) {
      shutdownThreads();
      throw new BuildNetException("master '" + id + "' cannot listen: " + e.getMessage(), e);
    }
    long period = b.heartbeatInterval.toNanos();
    liveness.scheduleWithFixedDelay(registry::checkLiveness, period, period, TimeUnit.NANOSECONDS);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The transport the master listens on (for tests). */
  dev.buildnet.internal.transport.SessionTransport transport() {
    return transport;
  }

  private Transport.Connection.Handler accept(Transport.Connection c) {
    Session p = Session.of(c);
    WorkerRegistry.Worker worker =
        Hello.WORKER.equals(p.peerHello().role()) ? registry.join(p) : null;
    BlobService blobService = blobs == null ? null
        : new BlobService(blobs, p, maxBlobBytes, maxBlobTransfers,
            worker == null ? () -> {} : () -> registry.heard(worker, null));
    ClientBuilds clientBuilds = builds == null ? null : new ClientBuilds(builds, p, worker != null, maxUnsentEvents);
    return new MasterHandler(p, state, registry, worker, blobService, dispatcher, clientBuilds, work);
  }

  /** This master's id, sent to peers in HELLO_ACK. */
  public String id() {
    return id;
  }

  /** Places target attempts on the connected workers (what BuildNet's engine dispatches through). */
  public Dispatcher dispatcher() {
    return dispatcher;
  }

  /** Where the master listens (with the port chosen if 0 was asked for). */
  public InetSocketAddress localAddress() {
    return listener.localAddress();
  }

  /** The connected workers, sorted by id; a snapshot, immutable. */
  public List<WorkerInfo> workers() {
    return registry.snapshot();
  }

  /** Adds a listener for workers joining, leaving and dying (not replayed for current workers). */
  public void addWorkerListener(WorkerListener listener) {
    registry.addListener(Objects.requireNonNull(listener, "listener"));
  }

  public void removeWorkerListener(WorkerListener listener) {
    registry.removeListener(listener);
  }

  /** Runs the heartbeat check now (tests drive it with an injected clock). */
  void checkLiveness() {
    registry.checkLiveness();
  }

  /** Stops listening, closes every connection and the master's threads; idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    registry.close();
    transport.close();
    shutdownThreads();
  }

  private void shutdownThreads() {
    liveness.shutdownNow();
    work.shutdown();
    if (ownEvents != null) {
      ownEvents.shutdown();
    }
    try {
      liveness.awaitTermination(5, TimeUnit.SECONDS);
      work.shutdownAndJoin(5000);
      if (ownEvents != null && !ownEvents.awaitTermination(5, TimeUnit.SECONDS)) {
        ownEvents.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "MasterServer[" + id + (closed.get() ? ", closed]" : " at " + localAddress() + "]");
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Configures and starts a {@link MasterServer}. {@link #state} and {@link #transport} are required;
   * each setter may be called once and checks its argument at once.
   */
  public static final class Builder {
    private StateBackend state;
    private TransportSettings transport;
    private Transport carrier;
    private String id;
    private InetSocketAddress bindAddress;
    private Duration heartbeatInterval;
    private Duration heartbeatTimeout;
    private LongSupplier nanoTime;
    private Clock clock;
    private Executor eventExecutor;
    private DiskBlobStore blobs;
    private BuildService builds;
    private int maxUnsentEvents = ClientBuilds.MAX_UNSENT_EVENTS;
    private long maxBlobBytes = DEFAULT_MAX_BLOB_BYTES;
    private int maxBlobTransfers = DEFAULT_MAX_BLOB_TRANSFERS;
    private boolean maxBlobBytesSet;
    private boolean maxBlobTransfersSet;

    private Builder() {}

    /**
     * Serve BLOB_HAS, BLOB_PUT and BLOB_GET from this store (without one they get ERROR
     * UNSUPPORTED). Uploads are verified against the store's hash algorithm. Not closed by the
     * master.
     */
    public Builder blobs(DiskBlobStore store) {
      once(this.blobs, "blobs");
      this.blobs = Objects.requireNonNull(store, "store");
      return this;
    }

    /**
     * The engine that runs clients' builds (BUILD_REQUEST, BUILD_CANCEL, SUBSCRIBE, UNSUBSCRIBE);
     * without one they get ERROR {@code UNSUPPORTED}. {@code BuildNet} sets its own.
     */
    public Builder builds(BuildService service) {
      once(this.builds, "builds");
      this.builds = Objects.requireNonNull(service, "service");
      return this;
    }

    /** Tests lower the per-subscription bound of unsent EVENTs to see drops deterministically. */
    Builder maxUnsentEvents(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxUnsentEvents must be >= 1 but was " + max);
      }
      this.maxUnsentEvents = max;
      return this;
    }

    /** The largest blob an upload may carry; 4 GiB by default. */
    public Builder maxBlobBytes(long max) {
      if (maxBlobBytesSet) {
        throw new IllegalStateException("maxBlobBytes was already set to " + maxBlobBytes);
      }
      if (max < 0) {
        throw new IllegalArgumentException("maxBlobBytes must be >= 0 but was " + max);
      }
      this.maxBlobBytes = max;
      this.maxBlobBytesSet = true;
      return this;
    }

    /** How many uploads one connection may have open at once; 16 by default. */
    public Builder maxBlobTransfers(int max) {
      if (maxBlobTransfersSet) {
        throw new IllegalStateException("maxBlobTransfers was already set to " + maxBlobTransfers);
      }
      if (max < 1) {
        throw new IllegalArgumentException("maxBlobTransfers must be >= 1 but was " + max);
      }
      this.maxBlobTransfers = max;
      this.maxBlobTransfersSet = true;
      return this;
    }

    /** Where STATE_* and LOCK_* requests go. Not closed by the master. */
    public Builder state(StateBackend state) {
      once(this.state, "state");
      this.state = Objects.requireNonNull(state, "state");
      return this;
    }

    /**
     * The shared secret workers and clients prove they know, TLS, heartbeats (how often peers
     * should send HEARTBEAT, told to them in HELLO_ACK, 5 s by default; a worker silent past the
     * timeout, 3 intervals by default, is declared dead and disconnected), the handshake timeout
     * and the frame limit. Required.
     */
    public Builder transport(TransportSettings settings) {
      once(this.transport, "transport");
      this.transport = Objects.requireNonNull(settings, "settings");
      return this;
    }

    /**
     * Moves frames over a host's {@link Transport} instead of the built-in TCP one; the handshake
     * (with {@link #transport}'s secret) runs above it. Not closed by the master.
     */
    public Builder carrier(Transport carrier) {
      once(this.carrier, "carrier");
      this.carrier = Objects.requireNonNull(carrier, "carrier");
      return this;
    }

    /** The master's id in HELLO_ACK; {@code "master"} by default. */
    public Builder id(String id) {
      once(this.id, "id");
      if (id == null || id.isEmpty()) {
        throw new IllegalArgumentException("id must not be empty");
      }
      this.id = id;
      return this;
    }

    /**
     * Where to listen; 127.0.0.1 port 0 (a free port) by default. Bind to a non-loopback address
     * only on a network you trust or with TLS ({@link #transport}): the secret authenticates peers but,
     * without TLS, nothing is encrypted.
     */
    public Builder bindAddress(InetSocketAddress address) {
      once(this.bindAddress, "bindAddress");
      Objects.requireNonNull(address, "address");
      if (address.isUnresolved()) {
        throw new IllegalArgumentException("bindAddress " + address + " is unresolved");
      }
      this.bindAddress = address;
      return this;
    }

    /** The monotonic clock liveness is measured on, in nanoseconds; {@link System#nanoTime}. */
    public Builder nanoTime(LongSupplier nanoTime) {
      once(this.nanoTime, "nanoTime");
      this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
      return this;
    }

    /** The wall clock of {@link WorkerInfo#connectedAt} and envelope timestamps; system UTC. */
    public Builder clock(Clock clock) {
      once(this.clock, "clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Runs {@link WorkerListener}s; it should run tasks one at a time to keep events in order.
     * Not shut down by the master. Default: the master's own {@code buildnet-master-events} thread.
     */
    public Builder eventExecutor(Executor executor) {
      once(this.eventExecutor, "eventExecutor");
      this.eventExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Builds the master and starts listening.
     *
     * @throws IllegalStateException if state or transport is missing, or the heartbeat timeout
     *     is not longer than the interval
     * @throws BuildNetException if the address cannot be bound
     */
    public MasterServer start() {
      if (state == null) {
        throw new IllegalStateException("state is required: the backend that STATE_* and LOCK_* requests use");
      }
      if (transport == null) {
        throw new IllegalStateException(
            "transport(...) with the secret is required: BuildNet never runs unauthenticated");
      }
      heartbeatInterval = transport.heartbeatInterval().orElse(null);
      heartbeatTimeout = transport.heartbeatTimeout().orElse(null);
      if (id == null) {
        id = "master";
      }
      if (bindAddress == null) {
        bindAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
      }
      if (heartbeatInterval == null) {
        heartbeatInterval = heartbeatTimeout == null
            ? Duration.ofSeconds(5)
            : max(Duration.ofMillis(1), heartbeatTimeout.dividedBy(3));
      }
      if (heartbeatTimeout == null) {
        heartbeatTimeout = heartbeatInterval.multipliedBy(3);
      }
      if (heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
        throw new IllegalStateException("heartbeatTimeout (" + heartbeatTimeout
            + ") must be longer than heartbeatInterval (" + heartbeatInterval + ")");
      }
      if (nanoTime == null) {
        nanoTime = System::nanoTime;
      }
      if (clock == null) {
        clock = Clock.systemUTC();
      }
      return new MasterServer(this);
    }

    private static Duration max(Duration a, Duration b) {
      return a.compareTo(b) >= 0 ? a : b;
    }

    private static void once(Object current, String name) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set to " + describe(current));
      }
    }

    private static String describe(Object value) {
      return value instanceof byte[] ? "a secret" : String.valueOf(value);
    }
  }
}
