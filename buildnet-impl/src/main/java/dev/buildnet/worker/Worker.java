package dev.buildnet.worker;

import dev.buildnet.client.RemoteBlobs;
import dev.buildnet.internal.master.BlobService;
import dev.buildnet.internal.master.RequestError;
import dev.buildnet.internal.worker.Sandbox;
import dev.buildnet.internal.worker.WorkerAttempt;

import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.Ack;
import dev.buildnet.internal.protocol.Payloads.BuildStarted;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.TargetCancel;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.InlineHandler;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A build worker: connects to a master, advertises its capabilities and resources, and runs the
 * target attempts the master sends (TARGET_RUN, see {@code docs/PROTOCOL.md}) in private sandbox
 * directories, streaming their log lines and uploading their outputs through the master's {@link BlobStore}.
 *
 * <p>Up to {@code cpuSlots} attempts run at once; one more is refused with ERROR {@code BUSY}.
 * When the connection drops, the attempts received over it are cancelled (their process trees
 * killed; the master re-queues them) and the worker reconnects with exponential backoff and
 * jitter, until {@link #close()}.
 *
 * <p>Threads: one connection thread ({@code buildnet-worker-<id>-connect}), up to {@code cpuSlots}
 * attempt threads ({@code buildnet-worker-<id>-run-N}, ending when idle), plus the transport's
 * and the shell provider's own. An attempt with no inputs, no outputs and no bundler starts on
 * the transport's loop instead while the shell finishes such commands as it starts them (an
 * in-process shell); with one that forks, only the first does. Thread-safe; {@link #connect()}
 * does not block, {@link #close()} blocks (bounded) until the worker's threads have ended.
 *
 * @since 0.1
 */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final InetSocketAddress master;
  private final String workerId;
  private final long cpuSlots;
  private final ShellProvider shell;
  private final BlobStore blobs;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Path workDir;
  private final boolean ownsWorkDir;
  private final Path sandboxes;
  private final HashProvider hashes; // null: the master's algorithm
  private final Map<String, BundlerAdapter> bundlers;
  /** Empty sandboxes of ended attempts, reused by the next ones. */
  private final java.util.concurrent.ConcurrentLinkedDeque<Sandbox> freeSandboxes =
      new java.util.concurrent.ConcurrentLinkedDeque<>();
  private final Map<String, DiskBlobStore> localStores = new java.util.concurrent.ConcurrentHashMap<>();
  private final dev.buildnet.internal.transport.SessionTransport transport;
  private final ThreadPoolExecutor runners;
  /**
   * Serves the master's BLOB_GETs off the reader thread: a download that waits for the socket to
   * drain must never stop this worker from reading what the master sends meanwhile (e.g. the
   * chunks of an input it downloads itself), or both sides could wait on each other.
   */
  private final ThreadPoolExecutor blobServer;
  private final Thread connector;
  private final Map<WorkerAttempt.Key, WorkerAttempt> running = new LinkedHashMap<>(); // guarded
  private final CountDownLatch closing = new CountDownLatch(1);
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile Session current;
  /**
   * Whether startable attempts (see {@link WorkerAttempt#start}) start on the network loop: with
   * the built-in transport (whose loop is this worker's own; another carrier may deliver on a
   * thread of the master's), until the first whose command did not end while the shell started it.
   */
  private volatile boolean startsOnLoop;
  private volatile CompletableFuture<Session> connected = new CompletableFuture<>();

  private Worker(Builder b) throws IOException {
    this.master = b.master;
    this.workerId = b.workerId;
    this.cpuSlots = b.cpuSlots;
    // With a work directory of its own choosing, the default shell records running attempts'
    // processes there, so the next worker on it kills what a worker killed with kill -9 left.
    this.shell = b.shell != null ? b.shell
        : b.workDir != null
            ? dev.buildnet.exec.ProcessShellProvider.builder()
                .recordIn(b.workDir.toAbsolutePath().normalize().resolve("processes")).build()
            : ShellProvider.processes();
    this.blobs = b.blobs;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.ownsWorkDir = b.workDir == null;
    this.workDir =
        (ownsWorkDir ? Files.createTempDirectory("buildnet-worker-") : b.workDir)
            .toAbsolutePath().normalize();
    this.sandboxes = workDir.resolve("sandboxes");
    Files.createDirectories(sandboxes);
    this.hashes = b.hashes;
    this.bundlers = Map.copyOf(b.bundlers);
    TcpTransport.Builder tb = TcpTransport.builder()
        .transport(b.transport)
        .localId(workerId)
        .asWorker(b.capabilities, b.cpuSlots, b.memoryMb);
    this.transport = tb.build(b.carrier);
    this.startsOnLoop = b.carrier == null;
    AtomicInteger n = new AtomicInteger();
    this.runners =
        new ThreadPoolExecutor(
            (int) Math.min(cpuSlots, 1024),
            (int) Math.min(cpuSlots, 1024),
            2,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "buildnet-worker-" + workerId + "-run-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    runners.allowCoreThreadTimeOut(true);
    this.blobServer = new ThreadPoolExecutor(1, 1, 2, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "buildnet-worker-" + workerId + "-blobs");
          t.setDaemon(true);
          return t;
        });
    blobServer.allowCoreThreadTimeOut(true);
    this.connector = new Thread(this::connectLoop, "buildnet-worker-" + workerId + "-connect");
    connector.setDaemon(true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts connecting (in the background) and keeps the worker connected until {@link #close()}.
   * Returns at once; see {@link #awaitConnected}.
   *
   * @throws IllegalStateException if already started or closed
   */
  public Worker connect() {
    if (closed.get()) {
      throw new IllegalStateException("worker " + workerId + " is closed");
    }
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("worker " + workerId + " is already connected");
    }
    connector.start();
    return this;
  }

  /** Blocks up to {@code timeout} until the worker is connected; returns whether it is. */
  public boolean awaitConnected(Duration timeout) throws InterruptedException {
    try {
      connected.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      return false;
    }
  }

  /** Whether the worker is connected to its master now. */
  public boolean isConnected() {
    Session c = current;
    return c != null && c.isOpen();
  }

  /** How many connections to the master succeeded so far (1 after the first, +1 per reconnect). */
  public int connectionCount() {
    return connections.get();
  }

  /** The attempts running now. */
  public int runningAttempts() {
    synchronized (running) {
      return running.size();
    }
  }

  public String workerId() {
    return workerId;
  }

  /**
   * Cancels running attempts (killing their process trees), closes the connection, deletes the
   * sandboxes (and the work directory if the worker created it), and waits (bounded) for the
   * worker's threads. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closing.countDown();
    List<WorkerAttempt> cancelled = cancelAll(null, "the worker is closing");
    Session c = current;
    if (c != null) {
      c.close();
    }
    transport.close();
    runners.shutdown();
    blobServer.shutdownNow(); // a download in progress fails with the closed connection
    try {
      if (started.get()) {
        connector.join(10_000);
      }
      if (!runners.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("worker {}: attempts did not end within 30 s of close", workerId);
        runners.shutdownNow();
      }
      awaitEnded(cancelled, "closing"); // those started on the loop hold no runner thread while they run
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    WorkerAttempt.deleteTree(ownsWorkDir ? workDir : sandboxes);
  }

  // ---- connection ----------------------------------------------------------------------------

  private void connectLoop() {
    int failures = 0;
    while (!closed.get()) {
      CompletableFuture<Throwable> down = new CompletableFuture<>();
      Session c = null;
      try {
        // Resolved afresh on every attempt: a restarted master may come back at a new address.
        InetSocketAddress address = new InetSocketAddress(master.getHostString(), master.getPort());
        c = transport.connect(address, CONNECT_TIMEOUT, handler(down));
      } catch (IOException | RuntimeException e) {
        if (!closed.get()) {
          log.info("worker {}: cannot reach master {}: {}", workerId, master, e.getMessage());
        }
      }
      if (c != null) {
        failures = 0;
        current = c;
        connections.incrementAndGet();
        connected.complete(c);
        log.info("worker {} connected to {}", workerId, master);
        if (closed.get()) {
          c.close();
        }
        try {
          down.get();
        } catch (InterruptedException | ExecutionException e) {
          Thread.currentThread().interrupt();
          return;
        }
        current = null;
        connected = new CompletableFuture<>();
        // Wait for them to end before advertising the slots again, or the master's re-queued
        // work would find the worker busy.
        List<WorkerAttempt> cancelled = cancelAll(c, "the connection to the master dropped");
        awaitEnded(cancelled, "reconnecting");
        if (!closed.get()) {
          log.info("worker {} lost the master {}; reconnecting", workerId, master);
        }
      }
      try {
        if (closing.await(backoff(failures++).toMillis(), TimeUnit.MILLISECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void awaitEnded(List<WorkerAttempt> attempts, String anyway) {
    try {
      CompletableFuture.allOf(attempts.stream().map(a -> a.done).toArray(CompletableFuture[]::new))
          .get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      log.warn("worker {}: cancelled attempts did not end within 30 s; {} anyway", workerId, anyway);
    }
  }

  /** Exponential from {@code initialBackoff} up to {@code maxBackoff}, with "equal jitter". */
  private Duration backoff(int failures) {
    long base = initialBackoff.toMillis();
    long max = maxBackoff.toMillis();
    long delay = failures >= 30 ? max : Math.min(max, base << failures);
    long half = delay / 2;
    return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(delay - half + 1));
  }

  /**
   * Runs on the transport's selector loop (an {@link InlineHandler}: no hand-off per message), so
   * nothing here blocks: a TARGET_RUN is registered and handed to a runner thread, a BLOB_GET to
   * the blob server, and a TARGET_CANCEL (a shell's cancel may take a moment) to a pool thread.
   */
  private Transport.Connection.Handler handler(CompletableFuture<Throwable> down) {
    return new InlineHandler() {
      @Override
      public void onMessage(Transport.Connection connection, Message m) {
        Session c = Session.of(connection);
        if (m.payload() instanceof TargetRun run) {
          onRun(c, m, run);
        } else if (m.payload() instanceof TargetCancel cancel) {
          CompletableFuture.runAsync(() -> onCancel(c, m, cancel));
        } else if (m.payload() instanceof Payloads.BlobGet) {
          try {
            blobServer.execute(() -> serveBlob(c, m));
          } catch (java.util.concurrent.RejectedExecutionException e) {
            c.send(new ErrorReply(m.id(), ErrorCode.BUSY.code(), "worker " + workerId
                + " is closing", false));
          }
        } else if (!(m.payload() instanceof Payloads.Reply)
            && !(m.payload() instanceof Payloads.Heartbeat)) { // the transport acks a HEARTBEAT
          c.send(new ErrorReply(m.id(), ErrorCode.UNSUPPORTED.code(),
              "a worker does not serve " + m.type(), false));
        }
      }

      @Override
      public void onClose(Transport.Connection connection, Throwable cause) {
        down.complete(cause);
      }
    };
  }

  private void onRun(Session c, Message m, TargetRun run) {
    WorkerAttempt.Key key = WorkerAttempt.Key.of(run);
    WorkerAttempt attempt;
    Sandbox sandboxOf;
    synchronized (running) {
      if (closed.get()) {
        c.send(new ErrorReply(m.id(), ErrorCode.BUSY.code(), "worker " + workerId + " is closing", false));
        return;
      }
      if (running.containsKey(key)) {
        c.send(new ErrorReply(m.id(), ErrorCode.INVALID_PAYLOAD.code(),
            "attempt " + run.attempt() + " of " + run.target() + " is already running here", false));
        return;
      }
      if (running.size() >= cpuSlots) {
        c.send(new ErrorReply(m.id(), ErrorCode.BUSY.code(),
            "worker " + workerId + " runs " + running.size() + " of " + cpuSlots
                + " attempts already", false));
        return;
      }
      Sandbox sandbox = freeSandboxes.poll();
      if (sandbox == null) {
        sandbox = new Sandbox(sandboxes.resolve(UUID.randomUUID().toString()));
      }
      HashProvider h = hashesFor(c);
      DiskBlobStore local = localStore(h);
      BlobStore client = blobs != null ? blobs
          : RemoteBlobs.over(c, h, Duration.ofSeconds(30), Duration.ofMinutes(30));
      attempt = new WorkerAttempt(run, c, sandbox, workDir.resolve("tmp"), local, client, shell,
          bundlers);
      running.put(key, attempt);
      sandboxOf = sandbox;
    }
    c.send(new BuildStarted(m.id(), run.buildId(), run.target(), run.attempt(), workerId));
    Runnable release = () -> release(key, attempt, sandboxOf);
    if (startsOnLoop && WorkerAttempt.startable(run)) {
      // No hand-off to a runner thread (a wake-up per target) for a command the shell may
      // finish as it starts it; the reply leaves with this loop's next write.
      if (!attempt.start(release, this::runLater) && startsOnLoop) {
        // A shell that forks: its starts stay off the loop from now on, as before.
        startsOnLoop = false;
        log.debug("worker {}: the shell's commands outlive their start; attempts use runner"
            + " threads", workerId);
      }
      return;
    }
    try {
      runners.execute(() -> attempt.run(release));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      release.run(); // closing
      attempt.done.complete(null);
    }
  }

  /** On a runner thread, or on this one once the runners have shut down (closing). */
  private void runLater(Runnable task) {
    try {
      runners.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      task.run();
    }
  }

  private DiskBlobStore localStore(HashProvider h) {
    return localStores.computeIfAbsent(h.algorithm(),
        a -> new DiskBlobStore(workDir.resolve("cas").resolve(a), h, Clock.systemUTC()));
  }

  /**
   * BLOB_GET from the master (since 1.3, for {@link Builder#KEEP_OUTPUTS}): the outputs an attempt
   * kept in this worker's store instead of uploading them. Served on the reader thread like the
   * master's own BLOB_GET, with the same verification (a corrupt blob is deleted and refused).
   */
  private void serveBlob(Session c, Message m) {
    BlobService service = new BlobService(localStore(hashesFor(c)), c, Long.MAX_VALUE, 0, () -> { });
    try {
      service.handle(m);
    } catch (RequestError e) {
      c.send(new ErrorReply(m.id(), e.code.code(), e.getMessage().replace("the master", "worker "
          + workerId), false));
    } catch (RuntimeException e) {
      log.warn("worker {}: serving {} failed", workerId, m.type(), e);
      c.send(new ErrorReply(m.id(), ErrorCode.INTERNAL.code(), "worker " + workerId
          + " failed to serve the blob: " + e.getMessage(), false));
    }
  }

  /**
   * The algorithm outputs are named by: the master's (from its HELLO_ACK), else the configured one,
   * else SHA-256.
   */
  private HashProvider hashesFor(Session c) {
    String algorithm = c.peerBlobAlgorithm();
    if (algorithm == null) {
      return hashes != null ? hashes : HashProvider.sha256();
    }
    if (hashes != null && hashes.algorithm().equals(algorithm)) {
      return hashes;
    }
    return switch (algorithm) {
      case "xxh64" -> HashProvider.xxh64();
      case "sha256" -> HashProvider.sha256();
      default -> throw new IllegalStateException("the master's blob store uses " + algorithm
          + ", which this worker does not know");
    };
  }

  private void release(WorkerAttempt.Key key, WorkerAttempt attempt, Sandbox sandbox) {
    if (attempt.sandboxClean && !closed.get()) {
      freeSandboxes.push(sandbox);
    } else {
      WorkerAttempt.deleteTree(sandbox.dir());
    }
    synchronized (running) {
      running.remove(key, attempt);
    }
  }

  private void onCancel(Session c, Message m, TargetCancel cancel) {
    WorkerAttempt attempt;
    synchronized (running) {
      attempt = running.get(new WorkerAttempt.Key(cancel.buildId(), cancel.target(), cancel.attempt()));
    }
    if (attempt == null) {
      c.send(new ErrorReply(m.id(), ErrorCode.NOT_FOUND.code(),
          "attempt " + cancel.attempt() + " of " + cancel.target() + " is not running here", false));
      return;
    }
    attempt.cancel(cancel.reason() != null ? cancel.reason() : "cancelled by the master");
    c.send(new Ack(m.id()));
  }

  /** Cancels the attempts received over {@code connection} (all if null); returns them. */
  private List<WorkerAttempt> cancelAll(Session connection, String reason) {
    List<WorkerAttempt> victims = new ArrayList<>();
    synchronized (running) {
      for (WorkerAttempt a : running.values()) {
        if (connection == null || a.connection == connection) {
          victims.add(a);
        }
      }
    }
    victims.forEach(a -> a.cancel(reason));
    return victims;
  }

  // ---- builder -------------------------------------------------------------------------------

  /**
   * Configures a {@link Worker}. Required: {@link #master} (or {@link #connect(String, int)}) and
   * {@link #transport}. Defaults: the id {@code <host>-<pid>}, a CPU slot per core, the machine's
   * physical memory, the capabilities {@code <os>} and {@code <os>-<arch>} plus those given.
   * Setters check their argument at once; {@link #build()} checks that the required ones were set.
   */
  public static final class Builder {
    private InetSocketAddress master;
    private TransportSettings transport;
    private Transport carrier;
    private String workerId;
    private List<String> capabilities = List.of();
    private long cpuSlots;
    private long memoryMb;
    private ShellProvider shell;
    private HashProvider hashes;
    private final Map<String, BundlerAdapter> bundlers = new java.util.LinkedHashMap<>();
    private Path workDir;
    private BlobStore blobs;
    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(30);

    private Builder() {}

    public Builder master(String host, int port) {
      Objects.requireNonNull(host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("master host must not be blank");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("master port must be 1..65535 but was " + port);
      }
      this.master = InetSocketAddress.createUnresolved(host, port);
      return this;
    }

    public Builder master(InetSocketAddress address) {
      this.master = Objects.requireNonNull(address, "address");
      return this;
    }

    /**
     * The secret shared with the master and, if the master speaks TLS, the context to connect with
     * (its trust managers must accept the master's certificate; the shared-secret handshake runs
     * inside TLS either way). Required; the same settings the master was given do.
     */
    public Builder transport(TransportSettings settings) {
      if (this.transport != null) {
        throw new IllegalStateException("transport was already set");
      }
      this.transport = Objects.requireNonNull(settings, "settings");
      return this;
    }

    /**
     * Like {@link #transport(TransportSettings)}, with frames moved by {@code transport} instead of
     * the built-in TCP transport (the master must use one that reaches this one, e.g. the same
     * in-process transport). The worker runs the shared-secret handshake over it, so the
     * transport need not authenticate; it is not closed by the worker.
     *
     * @throws IllegalArgumentException if {@code settings} has a TLS context: that configures the
     *     TCP transport, and a host's transport secures its own channel
     */
    public Builder transport(TransportSettings settings, Transport transport) {
      dev.buildnet.internal.transport.FramedTransport.checkSettings(settings, transport);
      transport(settings);
      this.carrier = transport;
      return this;
    }

    public Builder workerId(String id) {
      Objects.requireNonNull(id, "workerId");
      if (!id.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException(
            "workerId must be 1-64 letters, digits, '.', '_' or '-' but was '" + id + "'");
      }
      this.workerId = id;
      return this;
    }

    public Builder capabilities(List<String> capabilities) {
      this.capabilities = List.copyOf(Objects.requireNonNull(capabilities, "capabilities"));
      return this;
    }

    public Builder cpuSlots(long slots) {
      if (slots < 1) {
        throw new IllegalArgumentException("cpuSlots must be at least 1 but was " + slots);
      }
      this.cpuSlots = slots;
      return this;
    }

    public Builder memoryMb(long mb) {
      if (mb < 1) {
        throw new IllegalArgumentException("memoryMb must be at least 1 but was " + mb);
      }
      this.memoryMb = mb;
      return this;
    }

    /**
     * Lets the worker run bundler targets with {@code adapter}: when the tool is available here,
     * the worker advertises the capability {@code bundler:<name>}, which the master requires of
     * workers it sends that adapter's targets to.
     */
    public Builder bundler(BundlerAdapter adapter) {
      Objects.requireNonNull(adapter, "adapter");
      if (bundlers.putIfAbsent(adapter.name(), adapter) != null) {
        throw new IllegalArgumentException("a bundler named '" + adapter.name() + "' was already added");
      }
      return this;
    }

    /**
     * How attempts run; default {@link ShellProvider#processes()}, which with a {@link #workDir}
     * keeps its leftovers record in {@code processes} there.
     */
    public Builder shell(ShellProvider shell) {
      this.shell = Objects.requireNonNull(shell, "shell");
      return this;
    }

    /**
     * The hash of the worker's local store and of output digests when the master does not name
     * its store's algorithm in HELLO_ACK (when it does, that one is used); default SHA-256.
     */
    public Builder hashes(HashProvider hashes) {
      this.hashes = Objects.requireNonNull(hashes, "hashes");
      return this;
    }

    /**
     * Where sandboxes and the local blob store live; default a temp directory the worker creates
     * and deletes on close. A given directory keeps its blob store across runs.
     */
    public Builder workDir(Path dir) {
      this.workDir = Objects.requireNonNull(dir, "workDir");
      return this;
    }

    /**
     * Where inputs are fetched from and outputs uploaded to: the master's blob store as this
     * worker reaches it; default, the master's blob service over the worker's own connection
     * ({@link dev.buildnet.client.RemoteBlobs}). Another store the master reads too (e.g. the
     * shared tier it was given) may stand in; its digests must be of the master's algorithm.
     */
    public Builder blobs(BlobStore store) {
      if (this.blobs != null) {
        throw new IllegalStateException("blobs was already set to " + this.blobs.name());
      }
      this.blobs = Objects.requireNonNull(store, "store");
      return this;
    }

    /**
     * The capability every Java worker advertises (since 1.3): it honours TARGET_RUN
     * {@code keep_outputs} and serves BLOB_GET of the outputs it kept to the master.
     */
    public static final String KEEP_OUTPUTS = "keep-outputs";

    /** The capability a worker advertises for a usable bundler adapter, e.g. {@code bundler:esbuild}. */
    public static String bundlerCapability(String adapter) {
      return "bundler:" + adapter;
    }

    /** Sets the master, builds the worker and starts connecting: {@code build().connect()}. */
    public Worker connect(String host, int port) {
      master(host, port);
      return build().connect();
    }

    private static String defaultId() {
      String host;
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.net.UnknownHostException e) {
        host = "worker";
      }
      String id = (host + "-" + ProcessHandle.current().pid()).replaceAll("[^A-Za-z0-9._-]", "-");
      return id.length() > 64 ? id.substring(id.length() - 64) : id;
    }

    private static long physicalMemoryMb() {
      if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.OperatingSystemMXBean os) {
        return Math.max(1, os.getTotalMemorySize() / (1024 * 1024));
      }
      return 1024;
    }

    /** Reconnect delays: {@code initial}, doubling up to {@code max}, each jittered to 50-100%. */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      Objects.requireNonNull(initial, "initial");
      Objects.requireNonNull(max, "max");
      if (initial.toMillis() < 1) {
        throw new IllegalArgumentException("initial backoff must be at least 1 ms but was " + initial);
      }
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "max backoff " + max + " must not be less than the initial " + initial);
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /**
     * @throws IllegalStateException if a required setting is missing
     * @throws UncheckedIOException if the work directory cannot be created
     */
    public Worker build() {
      List<String> missing = new ArrayList<>();
      if (master == null) missing.add("master");
      if (transport == null) missing.add("transport");
      if (!missing.isEmpty()) {
        throw new IllegalStateException("a Worker needs " + String.join(", ", missing));
      }
      if (workerId == null) {
        workerId = defaultId();
      }
      if (cpuSlots == 0) {
        cpuSlots = Runtime.getRuntime().availableProcessors();
      }
      if (memoryMb == 0) {
        memoryMb = physicalMemoryMb();
      }
      dev.buildnet.internal.cache.Platform p = dev.buildnet.internal.cache.Platform.current();
      java.util.Set<String> caps = new java.util.TreeSet<>(capabilities);
      caps.add(p.os());
      caps.add(p.os() + "-" + p.arch());
      caps.add(KEEP_OUTPUTS);
      for (BundlerAdapter a : bundlers.values()) {
        if (a.isAvailable()) {
          caps.add(bundlerCapability(a.name()));
        }
      }
      capabilities = List.copyOf(caps);
      try {
        return new Worker(this);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot prepare the worker's work directory: " + e.getMessage(), e);
      }
    }
  }
}
