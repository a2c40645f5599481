package dev.buildnet;

import dev.buildnet.internal.engine.LocalSlots;
import dev.buildnet.internal.engine.Engine;
import dev.buildnet.internal.engine.KeyService;
import dev.buildnet.internal.engine.Listeners;
import dev.buildnet.internal.engine.Slots;
import dev.buildnet.internal.engine.TargetRunner;
import dev.buildnet.internal.engine.WorkspaceLock;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.internal.master.BuildService;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.cache.BuildOnce;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.graph.WorkspaceFile;
import dev.buildnet.internal.hash.FileDigestCache;
import dev.buildnet.internal.hash.FileStateFile;
import dev.buildnet.internal.master.MasterServer;
import java.net.InetSocketAddress;
import java.util.Optional;
import dev.buildnet.api.transport.TransportSettings;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An embedded build engine for one workspace: runs a graph of targets, serves what its
 * content-addressed cache already holds, and runs the rest in parallel on local slots.
 *
 * <pre>{@code
 * try (BuildNet net = BuildNet.builder()
 *         .workspace(dir)
 *         .state(StateBackend.sqlite(dir.resolve(".buildnet/state.db")))
 *         .localSlots(4)
 *         .start()) {
 *     BuildResult result = net.build("app").join();
 * }
 * }</pre>
 *
 * <h2>Defaults</h2>
 * Targets from {@code buildnet.json} at the workspace root; state in
 * {@code .buildnet/state.db}; blobs under {@code .buildnet/cas}; xxh64 digests; slots = cores;
 * a 10 GiB cache cap. Input digests and directory listings, keyed by each file's stat, are kept
 * in {@code .buildnet/filestate} (loaded at start, written when a build that learned something new
 * ends), so a fresh process reads only the files that changed. The default shell keeps a record of running targets' processes under
 * {@code .buildnet/processes}, and {@code start()} kills what a BuildNet killed with {@code kill -9}
 * left running on this workspace (see {@link dev.buildnet.exec.ProcessShellProvider}).
 *
 * <h2>Threads and resources</h2>
 * Thread-safe: builds may be submitted from any thread and run concurrently. BuildNet keeps no
 * static state, never calls {@code System.exit}, and names every thread it starts
 * {@code buildnet-…}. Supply an {@link Builder#executor Executor} to run targets on your threads.
 *
 * <h2>One build per workspace</h2>
 * Each build holds the workspace lock ({@code .buildnet/lock}: an OS file lock across processes,
 * a registry across instances in one JVM) from before it clears any output until its last process
 * has ended; concurrent builds of one instance share it. An instance with a master
 * ({@link Builder#listen}) holds it from start to close, since its clients may build at any time.
 * A build of a workspace another build holds waits ({@link Builder#onWorkspaceLockWait} says so
 * once) or, with {@link Builder#waitForWorkspaceLock waitForWorkspaceLock(false)}, throws
 * {@link dev.buildnet.api.NotStartedException} with reason {@code WORKSPACE_LOCKED}; one that a
 * master holds always throws, naming its address.
 *
 * <h2>Shutting down</h2>
 * {@link #drain()} stops accepting builds and completes when the running ones end; {@link #close()}
 * cancels running builds (killing their process trees), waits for them to stop, and releases what
 * BuildNet opened: its threads, and the state backend if BuildNet created it. A backend or executor
 * you passed in is yours to close. {@code close()} is idempotent.
 *
 * @since 0.1
 */
public final class BuildNet implements AutoCloseable {

  static {
    // The HTTP module and the command line read these internals through AddOns (see there).
    dev.buildnet.internal.addon.AddOns.register(new dev.buildnet.internal.addon.AddOns.Access() {
      @Override
      public BuildHistory history(BuildNet net) {
        return net.history();
      }

      @Override
      public Optional<MasterServer> master(BuildNet net) {
        return net.master();
      }

      @Override
      public Optional<dev.buildnet.internal.peers.PeerBuilds> peers(BuildNet net) {
        return net.peers();
      }

      @Override
      public dev.buildnet.internal.cache.DiskBlobStore blobs(BuildNet net) {
        return net.blobs();
      }

      @Override
      public dev.buildnet.internal.watch.WatchCycles watchCycles(BuildNet net) {
        return net.watchCycles;
      }

      @Override
      public dev.buildnet.internal.addon.AddOns.HotFiles keepFileStateHot(BuildNet net) {
        return net.keepFileStateHot();
      }
    });
  }
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
  /** The key {@link #writeFailure} writes and deletes to learn whether the state store recovered. */
  private static final String WRITE_PROBE_KEY = "buildnet/write-probe";
  private static final long PROBE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Path workspace;
  private final BuildGraph graph;
  private final StateBackend state;
  private final boolean ownsState;
  private final ExecutorService ownedExecutor;
  private final Engine engine;
  private final KeyService keys;
  private final ActionCache cache;
  private final BuildOnce buildOnce;
  private final Listeners listeners;
  private final BuildHistory history;
  private final long cacheMaxBytes;
  private final boolean keepGoing;
  private final BuildOrigin origin;
  private final Set<String> capabilities;
  private final MasterServer master;
  private final dev.buildnet.internal.peers.PeerBuilds peers;
  private final dev.buildnet.internal.peers.PeerEvents.Publisher peerPublisher;
  private final dev.buildnet.api.state.Subscription peerSubscription;
  private final WorkspaceLock workspaceLock;
  private final FileStateFile fileState;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean draining;
  private final Executor probeExecutor;
  private final AtomicBoolean probing = new AtomicBoolean();
  private volatile long lastProbeNanos = System.nanoTime() - PROBE_INTERVAL_NANOS;

  /** Whether builds wait for the file events queued before them ({@link Builder#keepFileStateHot}). */
  private final boolean syncFileEvents;
  /** How long a build waits for the file events queued before it (then it stats every input). */
  private static final Duration FILE_EVENTS_SYNC_TIMEOUT = Duration.ofSeconds(5);

  private BuildNet(Builder b, WorkspaceLock workspaceLock) throws IOException {
    this.workspace = b.workspace;
    this.workspaceLock = workspaceLock;
    Path meta = workspace.resolve(".buildnet");
    this.graph = b.graph != null ? b.graph : loadGraph(workspace);
    this.ownsState = b.state == null;
    this.state = b.state != null ? b.state : StateBackend.sqlite(meta.resolve("state.db"));
    HashProvider hashes = b.hashes != null ? b.hashes : HashProvider.xxh64();
    Clock clock = b.clock != null ? b.clock : Clock.systemUTC();
    DiskBlobStore blobs = new DiskBlobStore(meta.resolve("cas"), hashes, clock);
    this.buildOnce = b.buildOnceLease == null ? null : new BuildOnce(state,
        ManagementFactory.getRuntimeMXBean().getName() + "/" + java.util.UUID.randomUUID(),
        b.buildOnceLease, b.buildOnceMaxWait);
    this.cache = new ActionCache(state, blobs, b.sharedBlobs, buildOnce);
    FileDigestCache.Builder digestsBuilder = FileDigestCache.builder(hashes);
    if (b.fileClock != null) {
      digestsBuilder.clock(b.fileClock);
    }
    if (b.fileStatObserver != null) {
      digestsBuilder.statObserver(b.fileStatObserver);
    }
    FileDigestCache digests = digestsBuilder.build();
    // Digests and directory listings from earlier processes: a fresh process reads only changes.
    this.fileState = new FileStateFile(meta.resolve("filestate"), workspace, digests);
    fileState.load();
    this.watchDigests = digests; // watch mode feeds it from file events
    this.graphFromFile = b.graph == null;
    Map<String, String> hostEnv = b.hostEnvironment != null ? b.hostEnvironment : System.getenv();
    this.keys = new KeyService(workspace, hashes, digests, state, hostEnv, b.bundlers, graph);
    this.syncFileEvents = Boolean.TRUE.equals(b.keepFileStateHot)
        && System.getProperty("os.name", "").startsWith("Linux"); // elsewhere the JDK polls
    if (syncFileEvents) {
      try {
        keepFileStateHot();
      } catch (BuildNetException e) {
        // A hint for speed, not a condition of building (as Gradle's file-system watching): with
        // no hot state, awaitFileEvents does nothing and every build stats its inputs.
        org.slf4j.LoggerFactory.getLogger(BuildNet.class).warn(
            "not keeping the file state from file events ({}); builds check every input by stat",
            e.getMessage());
      } catch (RuntimeException e) {
        closeQuietly();
        throw e;
      }
    }
    this.listeners = new Listeners(clock);
    this.history = new BuildHistory(clock, 200, 5_000, b.logLimits);
    listeners.add(history);
    b.listeners.forEach(listeners::add);
    if (b.peerName == null) {
      peers = null;
      peerPublisher = null;
      peerSubscription = null;
    } else {
      peers = new dev.buildnet.internal.peers.PeerBuilds(clock, 100, Duration.ofMinutes(10));
      peerPublisher = dev.buildnet.internal.peers.PeerEvents.publisher(state, b.peerName);
      try {
        peerSubscription = dev.buildnet.internal.peers.PeerEvents.subscribe(state, b.peerName, peers::record);
      } catch (RuntimeException e) {
        peerPublisher.close();
        closeQuietly();
        throw e;
      }
      listeners.add(peerPublisher);
    }
    int cores = Runtime.getRuntime().availableProcessors();
    int slots = b.localSlots >= 0 ? b.localSlots : cores;
    Executor executor = b.executor;
    if (executor == null) {
      // Local targets hold a thread while they run; with a master, remote results are processed
      // on the same pool, so it has threads beyond the local slots.
      ownedExecutor = newExecutor(Math.max(1, slots + (b.listen != null ? cores : 0)));
      executor = ownedExecutor;
    } else {
      ownedExecutor = null;
    }
    // The default shell records its running processes under .buildnet/processes, and kills what
    // an earlier JVM on this workspace left there when it was killed without a chance to stop them.
    ShellProvider shell = b.shell != null ? b.shell
        : dev.buildnet.exec.ProcessShellProvider.builder().recordIn(meta.resolve("processes")).build();
    TargetRunner runner =
        new TargetRunner(workspace, keys, cache, new Outputs(workspace, blobs), shell,
            b.bundlers, clock, b.retryBackoff, (int) b.logLimits.perTargetBytes());
    this.capabilities = localCapabilities(b.capabilities);
    this.cacheMaxBytes = b.cacheMaxBytes;
    this.keepGoing = Boolean.TRUE.equals(b.keepGoing);
    this.origin = b.origin != null ? b.origin : BuildOrigin.api();
    this.probeExecutor = executor;
    this.master = b.listen == null ? null : startMaster(b);
    if (master != null && Boolean.TRUE.equals(b.deferOutputs)) {
      runner.deferOutputs(master.dispatcher(), capabilities, state);
    }
    long memoryMb = b.localMemoryMb;
    LocalSlots here = runner.localSite(new Slots(slots, memoryMb > 0 ? () -> memoryMb
        : BuildNet::physicalMemoryMb), capabilities);
    this.engine = new Engine(master == null ? List.of(here)
        : List.of(runner.remoteSite(master.dispatcher(), b.placementTimeout, here), here),
        executor, runner, listeners);
  }

  private MasterServer startMaster(Builder b) {
    MasterServer.Builder m = MasterServer.builder().state(state).transport(b.transport)
        .bindAddress(b.listen).blobs(cache.blobs()).builds(new Service());
    if (b.carrier != null) {
      m.carrier(b.carrier);
    }
    try {
      MasterServer started = m.start();
      InetSocketAddress bound = started.localAddress();
      workspaceLock.announceMaster(bound.getHostString() + ":" + bound.getPort());
      started.addWorkerListener(e -> {
        listeners.worker(e.worker().id(), e.kind() == dev.buildnet.internal.master.WorkerEvent.Kind.JOINED);
      });
      return started;
    } catch (RuntimeException e) {
      closeQuietly();
      throw e;
    }
  }

  /** Undoes a partial start: nothing BuildNet opened may outlive a failed {@code start()}. */
  private void closeQuietly() {
    closeWatches(); // the hot file state's watcher, if it was started
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
    keys.close();
    if (buildOnce != null) {
      buildOnce.close();
    }
    if (ownsState) {
      state.close();
    }
  }

  /**
   * The running and recent builds, their targets' statuses and log tails, the connected workers,
   * and live event subscriptions (what the master's EVENT stream and the HTTP module show).
   */
  BuildHistory history() {
    return history;
  }

  /**
   * Other masters' recent builds, when {@link Builder#peerEvents} is on; empty otherwise.
   */
  Optional<dev.buildnet.internal.peers.PeerBuilds> peers() {
    return Optional.ofNullable(peers);
  }

  /**
   * A builder for a worker that connects to a BuildNet master and runs the targets it sends:
   * {@code BuildNet.worker().transport(settings).capabilities(List.of("java")).connect(host, port)}.
   */
  public static dev.buildnet.worker.Worker.Builder worker() {
    return dev.buildnet.worker.Worker.builder();
  }

  /**
   * Whether {@link #build} accepts work now: false once {@link #drain()} or {@link #close()} was
   * called (what a readiness probe reports).
   */
  public boolean acceptingBuilds() {
    return !draining && !closed.get();
  }

  /**
   * Why BuildNet cannot write its state or its blob store now, in one line (e.g. {@code "cannot
   * write to sqlite:/w/.buildnet/state.db: the disk holding /w/.buildnet is full: 8192 bytes
   * free"}); empty while writes succeed. Never blocks: {@code /ready} of {@code buildnet-jetty}
   * answers 503 with this text.
   *
   * <p>A failure is recorded by a write that fails and cleared by the next one that succeeds; so
   * that the answer turns empty soon after space is freed even when no build is running, a call
   * that finds a failure also starts (at most once a second) a small test write on the build
   * executor. Nothing needs restarting: builds work again as soon as the disk has room.
   */
  public Optional<String> writeFailure() {
    Optional<String> failure = state.writeFailure().or(() -> cache.blobs().writeFailure());
    if (failure.isPresent()) {
      probeSoon();
    }
    return failure;
  }

  private void probeSoon() {
    long now = System.nanoTime();
    if (closed.get() || now - lastProbeNanos < PROBE_INTERVAL_NANOS
        || !probing.compareAndSet(false, true)) {
      return;
    }
    lastProbeNanos = now;
    try {
      probeExecutor.execute(() -> {
        try {
          probeWrites();
        } finally {
          probing.set(false);
        }
      });
    } catch (RejectedExecutionException closing) {
      probing.set(false);
    }
  }

  /** A write to each store that reports a failure; success clears it, failure records it anew. */
  private void probeWrites() {
    if (closed.get()) {
      return;
    }
    if (state.writeFailure().isPresent()) {
      try {
        state.set(WRITE_PROBE_KEY, new byte[] {1});
        state.delete(WRITE_PROBE_KEY);
      } catch (RuntimeException stillFailing) {
        // The backend recorded why; writeFailure() reports it.
      }
    }
    if (cache.blobs().writeFailure().isPresent()) {
      cache.blobs().probeWrite();
    }
  }

  /**
   * Cancels the running build {@code buildId}, whoever started it (this host, a remote client, the
   * HTTP API): queued targets are dropped and running ones killed, locally and on workers.
   *
   * @return false if no build with that id is running
   */
  public boolean cancel(String buildId) {
    return engine.cancel(Objects.requireNonNull(buildId, "buildId"));
  }

  /** The scheduler's queue and recent dispatch latencies (for metrics; cheap, never blocks long). */
  public DispatchStats dispatchStats() {
    return engine.stats();
  }

  /** The content-addressed store of the cache's blobs (outputs and logs). */
  dev.buildnet.internal.cache.DiskBlobStore blobs() {
    return cache.blobs();
  }

  /** The state backend holding the action cache, build records, and user state and locks. */
  public StateBackend state() {
    return state;
  }

  /** A builder; {@link Builder#workspace} is the only required setting. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads a shared secret from a file, as the CLI's {@code --secret-file} and Python's {@code
   * buildnet.read_secret} do (docs/PROTOCOL.md, "Secret files"): the file's bytes without their
   * trailing CR and LF bytes (the newline an editor or {@code echo} adds); nothing else is trimmed.
   *
   * @throws IllegalArgumentException if what remains is shorter than 16 bytes
   * @throws java.io.IOException if the file cannot be read
   * @since 0.1
   */
  public static byte[] readSecret(Path file) throws java.io.IOException {
    byte[] raw = java.nio.file.Files.readAllBytes(file);
    int end = raw.length;
    while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r')) {
      end--;
    }
    if (end < 16) {
      throw new IllegalArgumentException("the secret in " + file + " must be at least 16 bytes"
          + " (after removing trailing newlines) but was " + end);
    }
    return java.util.Arrays.copyOf(raw, end);
  }

  public Path workspace() {
    return workspace;
  }

  /**
   * What this machine offers to targets' {@code requires}: the platform ({@code linux},
   * {@code linux-x86_64}) plus whatever {@link Builder#capabilities} added.
   */
  public Set<String> capabilities() {
    return capabilities;
  }

  /**
   * The address the embedded master listens on, when {@link Builder#listen} was given (with port
   * 0, the port it picked): what workers and clients connect to.
   */
  public Optional<java.net.InetSocketAddress> listenAddress() {
    return master().map(MasterServer::localAddress);
  }

  /**
   * The embedded master, when {@link Builder#listen} was given: its address, connected workers and
   * their events. Workers and clients reach this instance's state and locks through it.
   */
  Optional<MasterServer> master() {
    return Optional.ofNullable(master);
  }

  /** The validated target graph this instance builds. */
  public BuildGraph graph() {
    return graph;
  }

  /**
   * Builds {@code targets} and their transitive dependencies, and nothing else.
   *
   * @throws dev.buildnet.graph.InvalidGraphException ({@code UNKNOWN_TARGET}) if a name is not a
   *     target of the graph
   * @throws IllegalStateException after {@link #drain()} or {@link #close()}
   */
  public BuildFuture build(String... targets) {
    return build(Arrays.asList(targets), keepGoing);
  }

  /** Builds every target of the graph. */
  public BuildFuture buildAll() {
    return build(everyTarget().names, keepGoing);
  }

  /**
   * Every target of the graph as {@link #buildAll} requests them, made once: a host that builds
   * everything over and over (an IDE's null builds) would otherwise copy, hash and compare 10,000
   * names per build to find the subgraph it got last time.
   */
  private record EveryTarget(List<String> names, Set<String> set, BuildGraph sub) {}

  private volatile EveryTarget everyTarget;

  private EveryTarget everyTarget() {
    EveryTarget all = everyTarget;
    if (all == null) {
      List<String> names = new ArrayList<>();
      graph.topologicalOrder().forEach(t -> names.add(t.name()));
      Set<String> set = Set.copyOf(names); // immutable: the build's own copy of it is itself
      all = new EveryTarget(List.copyOf(names), set, graph.subgraphFor(set));
      everyTarget = all;
    }
    return all;
  }

  /**
   * Builds {@code targets} and their dependencies; with {@code keepGoing}, a failure stops only
   * what depends on it, not the independent rest.
   */
  public BuildFuture build(Collection<String> targets, boolean keepGoing) {
    return submit(java.util.UUID.randomUUID().toString(), targets, keepGoing);
  }

  /**
   * Like {@link #build(Collection, boolean)}, recording {@code origin} as who submitted the build
   * (the history, the HTTP API and the dashboard show it); for front ends such as the HTTP module.
   *
   * @since 0.3
   */
  public BuildFuture build(Collection<String> targets, boolean keepGoing, BuildOrigin origin) {
    return submit(java.util.UUID.randomUUID().toString(), targets,
        BuildService.Options.keepGoing(keepGoing), false, Objects.requireNonNull(origin, "origin"));
  }

  private BuildFuture submit(String buildId, Collection<String> targets, boolean keepGoing) {
    return submit(buildId, targets, BuildService.Options.keepGoing(keepGoing));
  }

  private BuildFuture submit(String buildId, Collection<String> targets, BuildService.Options o) {
    return submit(buildId, targets, o, false, origin);
  }

  private BuildFuture submit(String buildId, Collection<String> targets, BuildService.Options o,
      boolean unrecorded, BuildOrigin origin) {
    ensureOpen();
    awaitFileEvents();
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("name at least one target to build");
    }
    EveryTarget all = everyTarget;
    boolean everything = all != null && targets == all.names; // from buildAll()
    Set<String> requested = everything ? all.set : new LinkedHashSet<>(targets);
    dev.buildnet.graph.BuildGraph sub = everything ? all.sub : graph.subgraphFor(requested);
    if (!o.env().isEmpty() || o.timeout() != null) {
      // This build's view of its targets: passthrough variables from the request, a capped
      // timeout. Keys follow from the targets as run, so an override that changes a target's
      // environment changes its key, and one that does not leaves the key alone.
      List<Target> overridden = new ArrayList<>();
      sub.topologicalOrder().forEach(t -> overridden.add(t.withBuildOverrides(o.env(), o.timeout())));
      sub = dev.buildnet.graph.BuildGraph.of(overridden);
    }
    // Held until the build has fully stopped, its processes included (see WorkspaceLock).
    workspaceLock.acquire();
    BuildFuture future;
    listeners.expect(buildId, everything ? all.names : List.copyOf(requested), origin);
    try {
      future = engine.submit(buildId, sub, requested, o.keepGoing(),
          o.force() ? requested : Set.of(), unrecorded ? requested : Set.of());
    } catch (RuntimeException | Error e) {
      listeners.forget(buildId);
      workspaceLock.release();
      throw e;
    }
    future.beforeCompletion(fileState::save); // under the lock: one writer per workspace
    future.beforeCompletion(workspaceLock::release);
    return future;
  }

  /**
   * How a build uses the action cache for the targets it is given: {@link #READ_WRITE} as usual;
   * {@link #WRITE_ONLY} ignores hits and records the new results ({@code --force}); {@link #OFF}
   * neither reads nor records ({@code --no-cache}: outputs are not copied into the cache either).
   * WRITE_ONLY is a BUILD_REQUEST's {@code force}.
   *
   * @since 0.1
   */
  public enum CacheUse { READ_WRITE, WRITE_ONLY, OFF }

  /**
   * Like {@link #build(Collection, boolean)}, with {@code cache} applied to the named targets;
   * dependencies not named use the cache as usual.
   *
   * @since 0.1
   */
  public BuildFuture build(Collection<String> targets, boolean keepGoing, CacheUse cache) {
    Objects.requireNonNull(cache, "cache");
    return submit(java.util.UUID.randomUUID().toString(), targets,
        new BuildService.Options(keepGoing, cache != CacheUse.READ_WRITE, Map.of(), null),
        cache == CacheUse.OFF, origin);
  }

  /**
   * Predicts, without running anything or taking the workspace lock, what a build of {@code
   * targets} would do: per target of their closure, in dependency order, its key, whether it would
   * run or come from the cache, and why. Keys are computed as a build computes them, so the
   * prediction is exact except for targets whose inputs are outputs of a dependency that would
   * run: their key is computed from the files as they are now, and the reasons say so. A target
   * whose dependency declares outputs and would run has no key yet (its key covers those
   * outputs) and is predicted to run, though it is a hit if they come out unchanged.
   *
   * @throws dev.buildnet.graph.InvalidGraphException ({@code UNKNOWN_TARGET}) if a name is not a
   *     target of the graph
   * @since 0.1
   */
  public List<PlannedTarget> plan(Collection<String> targets) {
    ensureOpen();
    awaitFileEvents();
    BuildGraph sub = graph.subgraphFor(new LinkedHashSet<>(targets));
    dev.buildnet.internal.graph.InputResolver resolver = keys.resolver();
    // What each planned target's dependents' keys cover of it: its key if it declares no outputs,
    // else the digest of its cached outputs; unknown for one with outputs that would run.
    Map<String, dev.buildnet.internal.cache.KeyManifest.Dependency> computedKeys =
        new java.util.HashMap<>();
    Set<String> keyed = new java.util.HashSet<>(); // targets whose own key could be computed
    Set<String> running = new java.util.HashSet<>();
    List<PlannedTarget> plan = new ArrayList<>();
    for (Target t : sub.topologicalOrder()) {
      Map<String, dev.buildnet.internal.cache.KeyManifest.Dependency> depKeys =
          new java.util.HashMap<>();
      List<String> unknown = new ArrayList<>();
      List<String> runningDeps = new ArrayList<>();
      for (String d : t.dependencies()) {
        dev.buildnet.internal.cache.KeyManifest.Dependency k = computedKeys.get(d);
        if (k == null) {
          unknown.add(d);
        } else {
          depKeys.put(d, k);
        }
        if (running.contains(d)) {
          runningDeps.add(d);
        }
      }
      if (!unknown.isEmpty()) {
        running.add(t.name());
        List<String> keyless = unknown.stream().filter(d -> !keyed.contains(d)).toList();
        plan.add(new PlannedTarget(t.name(), null, true, !keyless.isEmpty()
            ? List.of("the key of dependency " + String.join(", ", keyless) + " cannot be computed")
            : List.of("dependency " + String.join(", ", unknown) + " would run first",
                "this key covers the outputs of " + String.join(", ", unknown) + ", known once"
                    + " it has run: this target runs unless they come out unchanged")));
        continue;
      }
      KeyService.Computed computed;
      try {
        computed = keys.compute(t, depKeys, resolver);
      } catch (KeyService.InputException e) {
        running.add(t.name());
        plan.add(new PlannedTarget(t.name(), null, true, List.of(e.getMessage())));
        continue;
      }
      keyed.add(t.name());
      List<String> reasons = new ArrayList<>();
      java.util.Optional<dev.buildnet.internal.cache.ActionManifest> hit = t.cacheable()
          ? cache.lookup(computed.key()) : java.util.Optional.empty();
      if (!t.cacheable()) {
        reasons.add("the target is not cacheable");
      } else if (hit.isEmpty()) {
        reasons.addAll(keys.missReasons(t.name(), computed));
      }
      if (t.outputs().isEmpty()) {
        computedKeys.put(t.name(),
            dev.buildnet.internal.cache.KeyManifest.Dependency.byKey(computed.key()));
      } else if (hit.isPresent()) {
        computedKeys.put(t.name(), new dev.buildnet.internal.cache.KeyManifest.Dependency(
            computed.key(), keys.outputDigest(hit.get())));
      }
      if (!reasons.isEmpty() && !runningDeps.isEmpty()) {
        reasons.add("dependency " + String.join(", ", runningDeps) + " would run first");
      }
      if (!reasons.isEmpty()) {
        running.add(t.name());
      }
      plan.add(new PlannedTarget(t.name(), computed.key().toString(), !reasons.isEmpty(), reasons));
    }
    return plan;
  }

  /** The face the embedded master shows clients: their builds run here, with their ids. */
  private final class Service implements BuildService {
    @Override
    public CompletableFuture<BuildResult> submit(
        String buildId, List<String> targets, boolean keepGoing) {
      return BuildNet.this.submit(buildId, targets, keepGoing).result();
    }

    @Override
    public CompletableFuture<BuildResult> submit(
        String buildId, List<String> targets, BuildService.Options options) {
      return BuildNet.this.submit(buildId, targets, options).result();
    }

    @Override
    public CompletableFuture<BuildResult> submit(String buildId, List<String> targets,
        BuildService.Options options, BuildOrigin origin) {
      return BuildNet.this.submit(buildId, targets, options, false, origin).result();
    }

    @Override
    public boolean cancel(String buildId) {
      return engine.cancel(buildId);
    }

    @Override
    public BuildHistory history() {
      return history;
    }
  }

  /** Registers a listener for every later event of every build. */
  public void addListener(BuildListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void removeListener(BuildListener listener) {
    listeners.remove(listener);
  }

  /**
   * Why the last build of {@code target} was a cache miss (or that it was a hit): which input, env
   * variable, dependency or command argument changed since the key before.
   *
   * @throws dev.buildnet.graph.InvalidGraphException ({@code UNKNOWN_TARGET}) if {@code target}
   *     is not in the graph
   * @throws IllegalStateException if it has not been built yet
   */
  public Explanation explain(String target) {
    ensureOpen();
    graph.subgraphFor(List.of(target)); // validates the name
    return keys.explain(target);
  }

  /**
   * Evicts least-recently-used blobs above the cache cap, drops action-cache records whose blobs are
   * gone, and removes stale temp files.
   */
  public GcReport gc() {
    ensureOpen();
    try {
      DiskBlobStore blobs = cache.blobs();
      List<DiskBlobStore.Entry> entries = blobs.entries();
      Map<Digest, Long> sizes = new java.util.HashMap<>();
      for (DiskBlobStore.Entry e : entries) {
        sizes.put(e.digest(), e.size());
      }
      long beforeBytes = sizes.values().stream().mapToLong(Long::longValue).sum();
      List<Digest> evicted = blobs.evictTo(entries, cacheMaxBytes);
      long freed = evicted.stream().mapToLong(d -> sizes.getOrDefault(d, 0L)).sum();
      int dropped = cache.pruneDangling();
      return new GcReport(evicted.size(), freed, dropped, beforeBytes - freed);
    } catch (IOException e) {
      throw new BuildNetException("garbage collection of " + cache.blobs().root() + " failed", e);
    }
  }

  /**
   * Deletes every target's declared outputs (files and directories) from the workspace, holding
   * the workspace lock as a build does, so that no build of another process writes them meanwhile.
   * The cache is untouched: the next build restores unchanged targets from it.
   *
   * @return how many declared output paths existed and were deleted
   * @throws BuildNetException if one cannot be deleted
   * @since 0.1
   */
  public int cleanOutputs() {
    ensureOpen();
    workspaceLock.acquire();
    try {
      int deleted = 0;
      Path root = workspace.toAbsolutePath().normalize();
      Path realRoot = root.toRealPath();
      for (Target t : graph.targets()) {
        for (String output : t.outputs()) {
          Path p = root.resolve(output).normalize();
          if (!p.startsWith(root) || p.equals(root)) {
            continue; // outputs are validated relative paths; this only guards a future change
          }
          // The same rule as a build's own clearing: never delete through a link leading out.
          String why = dev.buildnet.internal.WorkspacePaths.linkEscape(root, realRoot,
              root.relativize(p).toString().replace(java.io.File.separatorChar, '/'));
          if (why != null) {
            throw new BuildNetException("output '" + output + "' of target '" + t.name()
                + "' is refused: " + why + "; nothing outside the workspace is deleted");
          }
          if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            deleteTree(p);
            deleted++;
          }
        }
      }
      return deleted;
    } catch (IOException e) {
      throw new BuildNetException("cleaning the outputs failed: " + e.getMessage(), e);
    } finally {
      workspaceLock.release();
    }
  }

  /** Deletes a file, or a directory and what it holds, never following a symbolic link out. */
  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (var children = Files.list(p)) {
        for (Path c : (Iterable<Path>) children::iterator) {
          deleteTree(c);
        }
      }
    }
    Files.delete(p);
  }

  /** Stops accepting builds; completes when every running build has ended. */
  public CompletableFuture<Void> drain() {
    draining = true;
    return engine.drain();
  }

  /**
   * Cancels running builds, waits (up to 30 s) for their processes to stop, then releases BuildNet's
   * threads and, if BuildNet opened it, the state backend. Idempotent.
   */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    closeWatches();
    CompletableFuture<Void> idle = engine.drain();
    engine.cancelAll();
    try {
      idle.get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
      // Fall through: release what we own even if a target refused to stop.
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
      try {
        ownedExecutor.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    engine.close();
    if (peerPublisher != null) {
      peerSubscription.close();
      peerPublisher.close(); // sends this build's last events before the state may close
    }
    if (master != null) {
      master.close(); // before the state it serves
    }
    keys.close();
    if (buildOnce != null) {
      buildOnce.close();
    }
    if (ownsState) {
      state.close();
    }
    workspaceLock.close(); // last: nothing of ours touches the workspace any more
  }

  // ---- Watch mode (issue 14): everything of it in BuildNet is in this block. ----

  private final FileDigestCache watchDigests;
  private final boolean graphFromFile;
  private final Set<dev.buildnet.internal.watch.WatchSession> watches =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final dev.buildnet.internal.watch.WatchCycles watchCycles =
      new dev.buildnet.internal.watch.WatchCycles(Clock.systemUTC(), () -> watches.size());

  /** The default debounce interval of {@link #watch}: 50 ms. */
  public static final Duration WATCH_DEBOUNCE = Duration.ofMillis(50);

  /**
   * Watches the inputs of {@code targets} and their dependencies and rebuilds what a change
   * affects, until the returned handle (or this BuildNet) is closed; debounces with
   * {@link #WATCH_DEBOUNCE}. See {@link #watch(Collection, Duration, WatchListener)}.
   */
  public Watch watch(Collection<String> targets, WatchListener listener) {
    return watch(targets, WATCH_DEBOUNCE, listener);
  }

  /**
   * Watches the inputs of {@code targets} and their dependencies (glob patterns included: a new
   * file a glob matches is a change), plus {@code buildnet.json} when the graph came from it, and
   * rebuilds what each change affects. The first cycle builds all of them at once.
   *
   * <ul>
   *   <li><b>Batches:</b> a cycle starts once no event arrived for {@code debounce}, so an editor's
   *       save (write, rename) or a {@code git checkout} of many files is one cycle.
   *   <li><b>Only what changed:</b> a cycle builds the targets whose inputs changed, what depends
   *       on them, and what the last cycle did not leave up to date; the rest of the graph is not
   *       looked at, and unchanged files are neither stat'ed nor read (the file state is kept from
   *       events). A file rewritten with the same bytes changes nothing. With a master
   *       ({@link Builder#listen}) every cycle builds all watched targets, keyed as usual.
   *   <li><b>Cancel on change:</b> a change to the inputs of the running cycle's build cancels it
   *       and the next cycle takes its targets up.
   *   <li><b>Own writes:</b> declared outputs are not watched and their events never count.
   *   <li><b>{@code buildnet.json}:</b> a changed file is reloaded and validated; an invalid one is
   *       reported through {@link WatchListener#notice} and the previous graph keeps running. The
   *       graph {@link #graph()} and {@link #build} use stays the one this BuildNet started with.
   *   <li><b>Lost events</b> (the OS's queue overflowed, a watched directory was replaced): the
   *       affected directory is scanned again, said once through {@link WatchListener#notice}.
   * </ul>
   * A change is seen once its event arrived: while a watch runs, a {@link #build} of its targets
   * trusts the digests the watch keeps. Uses the JDK's {@link java.nio.file.WatchService}
   * (inotify on Linux; polling every few seconds on macOS).
   *
   * @throws dev.buildnet.graph.InvalidGraphException ({@code UNKNOWN_TARGET}) if a name is not a
   *     target of the graph
   * @throws IllegalStateException after {@link #drain()} or {@link #close()}
   * @since 0.4
   */
  public Watch watch(Collection<String> targets, Duration debounce, WatchListener listener) {
    ensureOpen();
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(debounce, "debounce");
    if (debounce.isNegative()) {
      throw new IllegalArgumentException("debounce must not be negative but was " + debounce);
    }
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("name at least one target to watch");
    }
    synchronized (watches) {
      if (hotFileState != null) { // both would own the digest cache's trust
        throw new IllegalStateException("the file state is kept from file events already");
      }
    }
    dev.buildnet.internal.watch.WatchSession.Host host =
        new dev.buildnet.internal.watch.WatchSession.Host() {
          @Override
          public FileDigestCache digests() {
            return watchDigests;
          }

          @Override
          public boolean partialBuilds() {
            return master == null;
          }

          @Override
          public BuildFuture submit(String buildId, List<Target> order,
              Map<String, Digest> upstreamKeys, Set<String> requested) {
            ensureOpen();
            workspaceLock.acquire();
            listeners.expect(buildId, List.copyOf(requested), origin);
            BuildFuture future;
            try {
              future = engine.submitPartial(buildId, order, upstreamKeys, requested, keepGoing);
            } catch (RuntimeException | Error e) {
              listeners.forget(buildId);
              workspaceLock.release();
              throw e;
            }
            future.beforeCompletion(workspaceLock::release);
            return future;
          }
        };
    dev.buildnet.internal.watch.WatchSession session;
    try {
      session = new dev.buildnet.internal.watch.WatchSession(host, workspace, graph, graphFromFile,
          List.copyOf(new LinkedHashSet<>(targets)), debounce, listener, watchCycles::record);
    } catch (IOException e) {
      throw new BuildNetException("cannot watch " + workspace + ": " + e.getMessage(), e);
    }
    watches.add(session);
    return new Watch(session, () -> watches.remove(session));
  }

  private void closeWatches() {
    for (dev.buildnet.internal.watch.WatchSession w : List.copyOf(watches)) {
      w.close();
    }
    watches.clear();
    dev.buildnet.internal.watch.HotFileState h;
    synchronized (watches) {
      h = hotFileState;
      hotFileState = null;
    }
    if (h != null) {
      h.close();
    }
  }

  private dev.buildnet.internal.watch.HotFileState hotFileState; // guarded by watches

  /**
   * For the CLI's daemon (through AddOns): keeps the input file state hot from file events between
   * builds, without watch mode's rebuilds; closed with this BuildNet. Not combined with
   * {@link #watch}: both would own the digest cache's trust.
   */
  private dev.buildnet.internal.watch.HotFileState keepFileStateHot() {
    synchronized (watches) {
      ensureOpen();
      if (!watches.isEmpty()) {
        throw new IllegalStateException("a watch is running: it keeps the file state already");
      }
      if (hotFileState == null) {
        try {
          hotFileState = new dev.buildnet.internal.watch.HotFileState(workspace, graph,
              watchDigests, workspace.resolve(".buildnet").resolve("hot"));
        } catch (IOException e) {
          throw new BuildNetException("cannot watch " + workspace + ": " + e.getMessage(), e);
        }
      }
      return hotFileState;
    }
  }

  /**
   * With {@link Builder#keepFileStateHot}: makes every file event queued before this call count,
   * so a write made just before a build is seen (if that fails, the hot state forgets what it
   * trusted and this build stats every input).
   */
  private void awaitFileEvents() {
    if (!syncFileEvents) {
      return;
    }
    dev.buildnet.internal.watch.HotFileState h;
    synchronized (watches) {
      h = hotFileState;
    }
    if (h != null) {
      h.sync(FILE_EVENTS_SYNC_TIMEOUT);
    }
  }

  // ---- end of watch mode ----

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("BuildNet for " + workspace + " is closed");
    }
  }

  private static BuildGraph loadGraph(Path workspace) {
    Path file = workspace.resolve(WorkspaceFile.FILE_NAME);
    if (!Files.exists(file)) {
      // Read by CLI users as much as by hosts: the file and what it is for come first.
      throw new IllegalArgumentException(file + " does not exist: it declares the workspace's"
          + " targets (docs/WORKSPACE.md); a host embedding BuildNet can give them with"
          + " BuildNet.Builder.targets(...) instead");
    }
    return WorkspaceFile.load(workspace);
  }

  private static Set<String> localCapabilities(Set<String> extra) {
    dev.buildnet.internal.cache.Platform p = dev.buildnet.internal.cache.Platform.current();
    Set<String> all = new java.util.TreeSet<>(extra);
    all.add(p.os());
    all.add(p.os() + "-" + p.arch());
    return java.util.Collections.unmodifiableSet(all);
  }

  private static ExecutorService newExecutor(int threads) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "buildnet-build-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  private static long physicalMemoryMb() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return Math.max(1, os.getTotalMemorySize() / (1024 * 1024));
    }
    return Long.MAX_VALUE / 2;
  }

  /**
   * Configures a {@link BuildNet}. Each setting may be given once; a second call, or a bad value,
   * fails at once with a message that says what is wrong.
   */
  public static final class Builder {
    private Path workspace;
    private BuildGraph graph;
    private StateBackend state;
    private HashProvider hashes;
    private ShellProvider shell;
    private final Map<String, BundlerAdapter> bundlers = new LinkedHashMap<>();
    private final List<BuildListener> listeners = new ArrayList<>();
    private final Set<String> capabilities = new java.util.TreeSet<>();
    private int localSlots = -1;
    private Duration placementTimeout = Duration.ofMinutes(5);
    private Boolean deferOutputs;
    private boolean placementTimeoutSet;
    private long localMemoryMb;
    private Executor executor;
    private Clock clock;
    private Map<String, String> hostEnvironment;
    private long cacheMaxBytes = 10L * 1024 * 1024 * 1024;
    private boolean cacheMaxSet;
    private Boolean keepGoing;
    private BuildOrigin origin;
    private Duration retryBackoff = Duration.ofMillis(200);
    private boolean retryBackoffSet;
    private InetSocketAddress listen;
    private TransportSettings transport;
    private dev.buildnet.api.transport.Transport carrier;
    private dev.buildnet.api.blob.BlobStore sharedBlobs;
    private Duration buildOnceLease;
    private Duration buildOnceMaxWait;
    private String peerName;
    private dev.buildnet.LogLimits logLimits = dev.buildnet.LogLimits.DEFAULT;
    private boolean logLimitsSet;
    private Boolean waitForWorkspaceLock;
    private java.util.function.Consumer<String> lockWaitNotice;
    private Clock fileClock;
    private Boolean keepFileStateHot;
    private java.util.function.Consumer<Path> fileStatObserver;

    private Builder() {}

    /**
     * The clock the file state's racy rule compares file timestamps with (default: the system
     * clock). Tests set it ahead so that files they have just written count as settled.
     */
    Builder fileClock(Clock clock) {
      requireUnset(this.fileClock, "fileClock");
      this.fileClock = Objects.requireNonNull(clock, "fileClock");
      return this;
    }

    /** Test seam: told the path of every file stat the file state makes (tests count them). */
    Builder fileStatObserver(java.util.function.Consumer<Path> observer) {
      requireUnset(this.fileStatObserver, "fileStatObserver");
      this.fileStatObserver = Objects.requireNonNull(observer, "fileStatObserver");
      return this;
    }

    /** The workspace root: an existing directory. Required. */
    public Builder workspace(Path dir) {
      requireUnset(workspace, "workspace");
      Objects.requireNonNull(dir, "workspace");
      Path abs = dir.toAbsolutePath().normalize();
      if (!Files.isDirectory(abs)) {
        throw new IllegalArgumentException("workspace " + abs + " is not an existing directory");
      }
      this.workspace = abs;
      return this;
    }

    /** The targets to build, instead of the workspace's {@code buildnet.json}. */
    public Builder targets(Collection<Target> targets) {
      requireUnset(graph, "targets");
      this.graph = BuildGraph.of(targets);
      return this;
    }

    /** An already validated graph, instead of the workspace's {@code buildnet.json}. */
    public Builder graph(BuildGraph graph) {
      requireUnset(this.graph, "targets");
      this.graph = Objects.requireNonNull(graph, "graph");
      return this;
    }

    /** Where the action cache and build records live. You close it; BuildNet does not. */
    public Builder state(StateBackend state) {
      requireUnset(this.state, "state");
      this.state = Objects.requireNonNull(state, "state");
      return this;
    }

    public Builder hashes(HashProvider hashes) {
      requireUnset(this.hashes, "hashes");
      this.hashes = Objects.requireNonNull(hashes, "hashes");
      return this;
    }

    public Builder shell(ShellProvider shell) {
      requireUnset(this.shell, "shell");
      this.shell = Objects.requireNonNull(shell, "shell");
      return this;
    }

    /** Makes {@code adapter} available to targets that name it. */
    public Builder bundler(BundlerAdapter adapter) {
      Objects.requireNonNull(adapter, "adapter");
      if (bundlers.putIfAbsent(adapter.name(), adapter) != null) {
        throw new IllegalStateException("a bundler named '" + adapter.name() + "' was already added");
      }
      return this;
    }

    /**
     * Capabilities this machine offers beyond its platform (e.g. {@code jdk17}, {@code node}); a
     * target that requires one nobody offers fails at once, naming it.
     */
    public Builder capabilities(String... names) {
      for (String n : names) {
        if (n == null || n.isBlank()) {
          throw new IllegalArgumentException("a capability name must not be empty");
        }
        if (!capabilities.add(n)) {
          throw new IllegalStateException("capability '" + n + "' was already added");
        }
      }
      return this;
    }

    public Builder listener(BuildListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * How many CPU slots targets may use at once on this machine; default: the number of cores.
     * 0 runs nothing here (every target goes to a worker; needs {@link #listen}).
     */
    public Builder localSlots(int slots) {
      if (localSlots != -1) {
        throw new IllegalStateException("localSlots was already set to " + localSlots);
      }
      if (slots < 0) {
        throw new IllegalArgumentException("localSlots must be at least 0 but was " + slots);
      }
      this.localSlots = slots;
      return this;
    }

    /**
     * Deferred materialization (default off): a target a worker runs whose outputs nothing has
     * asked for yet (it is not a requested target of the build) leaves its outputs on that worker
     * (TARGET_RUN {@code keep_outputs}) instead of uploading them to this master; the master
     * records their digests and fetches them from that worker only when needed: when a target on
     * another worker or on this machine consumes them. A consumer on the same worker reads them
     * from that worker's store. If the worker is gone before they were fetched, the consumer's
     * attempt first runs the producer again (on the consumer's worker, or here for a local
     * consumer). A later build counts such a target as cached only while its worker still holds
     * the outputs. Which worker keeps what is also recorded in the {@link #state} backend, so a
     * restarted master still serves those targets from a worker that reconnects (after it
     * confirms it still holds them) and runs them again, saying why, when it does not. Applies
     * with a master ({@link #listen}) and workers advertising the capability
     * {@code keep-outputs} (every Java and Python worker); other workers upload as before.
     */
    public Builder deferOutputs(boolean defer) {
      if (deferOutputs != null) {
        throw new IllegalStateException("deferOutputs was already set to " + deferOutputs);
      }
      this.deferOutputs = defer;
      return this;
    }

    /**
     * How long a ready target that neither this machine nor any connected worker can run waits for
     * a capable worker before it fails; default 5 minutes. Applies with a master ({@link #listen});
     * without one such a target fails at once.
     */
    public Builder placementTimeout(Duration timeout) {
      if (placementTimeoutSet) {
        throw new IllegalStateException("placementTimeout was already set to " + placementTimeout);
      }
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("placementTimeout must be positive but was " + timeout);
      }
      this.placementTimeout = timeout;
      this.placementTimeoutSet = true;
      return this;
    }

    /** How much memory targets may claim at once; default: the machine's physical memory. */
    public Builder localMemoryMb(long megabytes) {
      if (localMemoryMb != 0) {
        throw new IllegalStateException("localMemoryMb was already set to " + localMemoryMb);
      }
      if (megabytes < 1) {
        throw new IllegalArgumentException("localMemoryMb must be at least 1 but was " + megabytes);
      }
      this.localMemoryMb = megabytes;
      return this;
    }

    /** Runs targets on your executor instead of BuildNet's own threads; you shut it down. */
    public Builder executor(Executor executor) {
      requireUnset(this.executor, "executor");
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** The clock for cache records and LRU times (tests use a fixed one). */
    public Builder clock(Clock clock) {
      requireUnset(this.clock, "clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Where {@code envPassthrough} variables are read from; default: this process's env. */
    public Builder hostEnvironment(Map<String, String> env) {
      requireUnset(hostEnvironment, "hostEnvironment");
      this.hostEnvironment = Map.copyOf(env);
      return this;
    }

    /** The blob store's size cap, enforced by {@link BuildNet#gc()}; default 10 GiB. */
    public Builder cacheMaxBytes(long bytes) {
      if (cacheMaxSet) {
        throw new IllegalStateException("cacheMaxBytes was already set to " + cacheMaxBytes);
      }
      if (bytes < 0) {
        throw new IllegalArgumentException("cacheMaxBytes must not be negative but was " + bytes);
      }
      this.cacheMaxBytes = bytes;
      this.cacheMaxSet = true;
      return this;
    }

    /**
     * Who the builds submitted through this BuildNet's {@code build} methods come from, as the
     * history and the dashboard show it; default {@link BuildOrigin#api()}. The {@code buildnet}
     * command line sets {@link BuildOrigin#cli}. Builds of remote clients and the HTTP API carry
     * their own origin whatever this says.
     *
     * @since 0.3
     */
    public Builder origin(BuildOrigin origin) {
      requireUnset(this.origin, "origin");
      this.origin = Objects.requireNonNull(origin, "origin");
      return this;
    }

    /** Whether a failure lets independent targets go on; default false (stop the build). */
    public Builder keepGoing(boolean keepGoing) {
      requireUnset(this.keepGoing, "keepGoing");
      this.keepGoing = keepGoing;
      return this;
    }

    /** The first retry's delay for retryable targets; doubles per attempt. Default 200 ms. */
    public Builder retryBackoff(Duration delay) {
      if (retryBackoffSet) {
        throw new IllegalStateException("retryBackoff was already set to " + retryBackoff);
      }
      if (delay.isNegative()) {
        throw new IllegalArgumentException("retryBackoff must not be negative but was " + delay);
      }
      this.retryBackoff = delay;
      this.retryBackoffSet = true;
      return this;
    }

    /**
     * Runs an embedded master on {@code address} (port 0 picks a free one) that workers and
     * clients connect to; needs {@link #transport}. Bind to a loopback address unless other
     * machines must reach it, and then prefer TLS ({@link TransportSettings.Builder#tls}).
     */
    public Builder listen(InetSocketAddress address) {
      requireUnset(listen, "listen");
      this.listen = Objects.requireNonNull(address, "address");
      return this;
    }

    /**
     * How the embedded master talks to workers and clients: the shared secret they prove they know
     * (required with {@link #listen}), TLS, heartbeats (a worker silent past the heartbeat timeout,
     * 15 s unless set, is declared dead and its attempts re-queued; at least 3 ms), the handshake
     * timeout and the frame limit. Hand the same settings to the workers and clients.
     */
    public Builder transport(TransportSettings settings) {
      requireUnset(transport, "transport");
      Objects.requireNonNull(settings, "settings");
      settings.heartbeatTimeout().ifPresent(t -> {
        if (t.toMillis() < 3) {
          throw new IllegalArgumentException("heartbeatTimeout must be at least 3 ms but was " + t);
        }
      });
      this.transport = settings;
      return this;
    }

    /**
     * Like {@link #transport(TransportSettings)}, with the embedded master's frames moved by a
     * host's {@code transport} instead of the built-in TCP one (hand the workers and clients the
     * same pair). The master runs the shared-secret handshake above the transport, so a peer it
     * brings in must still prove it knows the secret; the transport is not closed by BuildNet.
     *
     * @throws IllegalArgumentException if {@code settings} has a TLS context: that configures the
     *     TCP transport, and a host's transport secures its own channel
     */
    public Builder transport(TransportSettings settings, dev.buildnet.api.transport.Transport transport) {
      dev.buildnet.internal.transport.FramedTransport.checkSettings(settings, transport);
      transport(settings);
      this.carrier = transport;
      return this;
    }

    /**
     * A blob store shared with other masters (e.g. {@code RedisBlobStore}, {@code HttpBlobStore})
     * behind the local one, through a {@link dev.buildnet.internal.cache.TieredBlobStore}: outputs are
     * written through to it before their action-cache record is written, and a record whose
     * blobs are missing locally is a hit only if they are fetched from it and verify. It must hold
     * digests of the {@link #hashes} algorithm (xxh64 unless set). Pair it with a {@link #state}
     * the other masters share too. You close it, and what it is built on.
     */
    public Builder sharedBlobs(dev.buildnet.api.blob.BlobStore blobs) {
      requireUnset(sharedBlobs, "sharedBlobs");
      this.sharedBlobs = Objects.requireNonNull(blobs, "blobs");
      return this;
    }

    /**
     * Builds each cache key once across every master on the same {@link #state} (which needs
     * distributed locks): a master that misses takes a lease of {@code lease} on the key (renewed
     * while it runs); the others wait, up to {@code maxWait}, for its result. A holder that dies
     * blocks the key for at most {@code lease}. Off by default.
     */
    public Builder buildOnce(Duration lease, Duration maxWait) {
      requireUnset(buildOnceLease, "buildOnce");
      Objects.requireNonNull(lease, "lease");
      Objects.requireNonNull(maxWait, "maxWait");
      if (lease.toMillis() < 30) {
        throw new IllegalArgumentException("buildOnce lease must be at least 30 ms but was "
            + lease);
      }
      if (maxWait.isNegative()) {
        throw new IllegalArgumentException("buildOnce maxWait must not be negative but was "
            + maxWait);
      }
      this.buildOnceLease = lease;
      this.buildOnceMaxWait = maxWait;
      return this;
    }

    /**
     * Shares build events with the other masters on the same {@link #state} (which needs pub/sub
     * across processes, e.g. Redis): this master's builds are published as {@code masterName}, and
     * its peers' recent builds are kept in {@link BuildNet#peers()}. Each master needs its own
     * name. Off by default.
     */
    public Builder peerEvents(String masterName) {
      requireUnset(peerName, "peerEvents");
      Objects.requireNonNull(masterName, "masterName");
      if (masterName.isBlank()) {
        throw new IllegalArgumentException("peerEvents needs a master name, not a blank one");
      }
      this.peerName = masterName;
      return this;
    }

    /**
     * How many bytes of the targets' output are kept in memory: per target (its captured stdout and
     * stderr, which its cache record stores, and its log in {@link BuildNet#history()}), per build
     * and for the whole history. Default {@link dev.buildnet.LogLimits#DEFAULT} (1 MiB,
     * 16 MiB, 128 MiB). Output past a limit is still read and streamed to listeners; what is kept
     * is its head and its tail around a {@code [buildnet: N bytes omitted]} marker.
     */
    public Builder logLimits(dev.buildnet.LogLimits limits) {
      Objects.requireNonNull(limits, "limits");
      if (logLimitsSet) {
        throw new IllegalStateException("logLimits was already set to " + logLimits);
      }
      this.logLimits = limits;
      this.logLimitsSet = true;
      return this;
    }

    /**
     * Keeps the input file state hot from file events (default off): for a long-lived BuildNet
     * that builds again and again in one process, such as an IDE plugin or a daemon. An input file
     * whose digest is known is then trusted without a {@code stat} until a file event says it
     * changed, so a build where little changed stats only what changed and declared outputs.
     *
     * <p>Consistency: each {@link BuildNet#build} (and {@link BuildNet#plan}) first waits until
     * every file event the OS queued before the call has been applied, so a write made before the
     * call returned (by this process or another) is always seen; if that cannot be shown within 5
     * seconds, or events were lost, that build checks every input by {@code stat} as without this
     * setting. Declared outputs, inputs that are another target's outputs, and {@code .buildnet/}
     * are never trusted. Only on Linux (inotify); elsewhere the JDK's watch service polls, and this
     * setting changes nothing. Not combined with {@link BuildNet#watch}, which keeps the file
     * state itself (it throws {@link IllegalStateException}).
     *
     * <p>If the workspace cannot be watched (the OS's limit of watches is reached, say), {@link
     * #start()} logs one warning and every build checks its inputs by {@code stat}, as without this
     * setting.
     *
     * @since 0.4
     */
    public Builder keepFileStateHot(boolean hot) {
      requireUnset(keepFileStateHot, "keepFileStateHot");
      this.keepFileStateHot = hot;
      return this;
    }

    /**
     * Whether a build waits while another build of the same workspace runs (in another process or
     * another {@code BuildNet} of this JVM); default true. With false, {@link BuildNet#build}
     * throws {@link dev.buildnet.api.NotStartedException} ({@code WORKSPACE_LOCKED}) at once
     * instead. Either way a workspace owned by a running master ({@link #listen}) fails at once: a
     * master keeps it for as long as it runs. A lock whose holder died is taken over at once.
     */
    public Builder waitForWorkspaceLock(boolean wait) {
      requireUnset(waitForWorkspaceLock, "waitForWorkspaceLock");
      this.waitForWorkspaceLock = wait;
      return this;
    }

    /**
     * Told once per wait for the workspace lock what the build waits for, e.g. {@code waiting for
     * the build of process 4242 (started 13:05:09) to finish}; called on the thread that called
     * {@link BuildNet#build} (or {@link #start()}, for a master). Default: an INFO log line.
     */
    public Builder onWorkspaceLockWait(java.util.function.Consumer<String> notice) {
      requireUnset(lockWaitNotice, "onWorkspaceLockWait");
      this.lockWaitNotice = Objects.requireNonNull(notice, "notice");
      return this;
    }

    /**
     * Validates the configuration and starts BuildNet.
     *
     * @throws IllegalStateException if no workspace was set
     * @throws dev.buildnet.api.BuildNetException if the workspace file is invalid or the state
     *     cannot be opened
     */
    public BuildNet start() {
      if (workspace == null) {
        throw new IllegalStateException("workspace is required: call workspace(Path) first");
      }
      if (listen != null && transport == null) {
        throw new IllegalStateException("listen(...) needs transport(...) with the secret:"
            + " workers and clients authenticate with it");
      }
      if (localSlots == 0 && listen == null) {
        throw new IllegalStateException("localSlots(0) runs nothing locally: call listen(...) so"
            + " workers can connect and run the targets");
      }
      if (buildOnceLease != null && state == null) {
        throw new IllegalStateException("buildOnce(...) coordinates masters through a shared "
            + "state backend: call state(...) too");
      }
      if (peerName != null && state == null) {
        throw new IllegalStateException("peerEvents(...) shares events through a shared state "
            + "backend: call state(...) too");
      }
      if (transport != null && listen == null) {
        throw new IllegalStateException("transport(...) configures the master: "
            + "call listen(...) too");
      }
      String algorithm = (hashes != null ? hashes : HashProvider.xxh64()).algorithm();
      if (sharedBlobs != null && !sharedBlobs.hashes().algorithm().equals(algorithm)) {
        throw new IllegalStateException("sharedBlobs(...) holds "
            + sharedBlobs.hashes().algorithm() + " blobs but this BuildNet hashes with "
            + algorithm + ": configure both with the same hash");
      }
      WorkspaceLock lock;
      try {
        Path meta = workspace.resolve(".buildnet");
        Files.createDirectories(meta);
        lock = new WorkspaceLock(workspace, meta, !Boolean.FALSE.equals(waitForWorkspaceLock),
            lockWaitNotice != null ? lockWaitNotice
                : org.slf4j.LoggerFactory.getLogger(BuildNet.class)::info);
      } catch (IOException e) {
        throw new BuildNetException("cannot start BuildNet in " + workspace + ": " + e, e);
      }
      if (listen != null) {
        lock.holdForLifetime(); // before the master accepts anyone
      }
      try {
        return new BuildNet(this, lock);
      } catch (IOException e) {
        lock.close();
        throw new BuildNetException("cannot start BuildNet in " + workspace + ": " + e, e);
      } catch (RuntimeException | Error e) {
        lock.close();
        throw e;
      }
    }

    private static void requireUnset(Object current, String what) {
      if (current != null) {
        throw new IllegalStateException(what + " was already set to " + current);
      }
    }
  }
}
