package dev.buildnet.internal.watch;

import dev.buildnet.BuildFuture;
import dev.buildnet.WatchListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.graph.WorkspaceFile;
import dev.buildnet.internal.graph.RelativePaths;
import dev.buildnet.internal.hash.FileDigestCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code BuildNet.watch}: watches the inputs of the requested targets and their dependencies
 * (and {@code buildnet.json} when the graph came from it), and turns each debounced batch of
 * changes into one cycle that builds only what the changes affect.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>The first cycle builds every watched target. Then a target is built again when a path its
 *       inputs match changed, when one of its dependencies is built again, or when its last cycle
 *       did not leave it up to date (it failed, was skipped or cancelled). Up-to-date dependencies
 *       are not touched: their keys from the last cycle stand in (see Engine#submitPartial).
 *   <li>A change is a path whose event arrived; a file whose bytes did not change (a touch, a save
 *       of the same text) is not one: its digest is compared with the one trusted before.
 *   <li>Events for declared outputs and {@code .buildnet/} never count, and output directories are
 *       not watched: what BuildNet writes never starts a cycle.
 *   <li>Batches: a cycle starts once no event arrived for the debounce interval; a cycle whose
 *       changes concern the targets of the running cycle's build cancels it first, and otherwise
 *       waits for it.
 *   <li>File state: the digest cache trusts every file under a watched directory until an event
 *       invalidates it, so a cycle neither stats nor reads unchanged files. Lost events (overflow,
 *       a watched directory replaced) distrust the directory's files and mark its targets, which
 *       the cycle then checks by stat (a rescan), said once per directory.
 * </ul>
 */
public final class WatchSession implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WatchSession.class);
  private static final int MAX_LISTED = 1_000;

  /** What the session needs of its BuildNet. */
  public interface Host {
    FileDigestCache digests();

    /** False with a master: builds then take every watched target (workers need all outputs). */
    boolean partialBuilds();

    /** Builds {@code order} (see Engine#submitPartial) as build {@code buildId}. */
    BuildFuture submit(String buildId, List<Target> order, Map<String, Digest> upstreamKeys,
        Set<String> requested);
  }

  private final Host host;
  private final WatchListener listener;
  private final Consumer<WatchListener.Cycle> cycleSink;
  private final Path root;
  private final Path graphFile; // null unless the graph came from buildnet.json
  private final List<String> requested;
  private final long debounceNanos;
  private final DirectoryWatcher watcher;
  private final Thread cycles;
  private volatile BuildGraph graph;
  private volatile BuildGraph watched;
  private volatile TargetIndex index;
  private final Map<String, Digest> upToDate = new ConcurrentHashMap<>();
  /** Watched targets the last cycles did not leave up to date (all of them at first). */
  private final Set<String> notUpToDate = ConcurrentHashMap.newKeySet();
  /** Each watched target's place in dependency order. */
  private volatile Map<String, Integer> positions = Map.of();
  private final Set<Path> noticed = ConcurrentHashMap.newKeySet();

  // Guarded by this.
  private final Map<String, Digest> pending = new TreeMap<>(); // rel path -> digest before batch
  private final Map<Path, String> lost = new LinkedHashMap<>();
  private boolean graphChanged;
  private long lastEventNanos;
  private boolean held;
  private boolean closed;
  private long cycleNumber;
  private InFlight inFlight;

  private record InFlight(WatchListener.Cycle cycle, BuildFuture future, Set<String> targets,
      CompletableFuture<Void> done) {}

  /**
   * Starts watching: registers the watched directories, trusts the digest cache from then on, and
   * starts the first cycle.
   *
   * @param cycleSink also told of each cycle as it starts (the history, for the HTTP streams)
   */
  public WatchSession(Host host, Path workspace, BuildGraph graph, boolean graphFromFile,
      List<String> requested, Duration debounce, WatchListener listener,
      Consumer<WatchListener.Cycle> cycleSink) throws IOException {
    this.host = host;
    this.listener = listener;
    this.cycleSink = cycleSink;
    this.root = workspace.toAbsolutePath().normalize();
    this.graphFile = graphFromFile ? root.resolve(WorkspaceFile.FILE_NAME) : null;
    this.requested = List.copyOf(requested);
    this.debounceNanos = debounce.toNanos();
    useGraph(graph); // validates the names
    this.watcher = new DirectoryWatcher(new DirectoryWatcher.Sink() {
      @Override
      public void changed(Path path) {
        onChange(path);
      }

      @Override
      public void lost(Path directory, String why) {
        onLost(directory, why);
      }
    }, this::skipDirectory);
    try {
      watchRoots();
      watcher.start();
    } catch (IOException | RuntimeException e) {
      watcher.close();
      throw e;
    }
    host.digests().trustUntilInvalidated(this::trusted);
    if (graphFile != null) {
      sameGraphText();
    }
    this.cycles = new Thread(this::loop, "buildnet-watch-cycles");
    this.cycles.setDaemon(true);
    cycles.start();
  }

  private void useGraph(BuildGraph g) {
    BuildGraph sub = g.subgraphFor(requested);
    Map<String, Integer> order = new java.util.HashMap<>();
    for (Target t : sub.topologicalOrder()) {
      order.put(t.name(), order.size());
    }
    this.graph = g;
    this.watched = sub;
    this.index = new TargetIndex(g, sub);
    this.positions = order;
    upToDate.clear();
    notUpToDate.clear();
    notUpToDate.addAll(order.keySet());
  }

  /** Registers the nearest existing directory of every input's literal base, and the root. */
  private void watchRoots() throws IOException {
    WatchScope.watchRoots(root, index, watcher);
    if (graphFile != null) {
      watcher.watchDirectory(root); // buildnet.json's events
    }
  }

  private boolean skipDirectory(Path dir) {
    return WatchScope.skipDirectory(root, index, dir);
  }

  /** Whether the digest of {@code file} may be trusted without a stat: its directory is watched. */
  private boolean trusted(Path file) {
    return WatchScope.trusted(root, index, watcher, file);
  }

  private String relative(Path abs) {
    return WatchScope.relative(root, abs);
  }

  private void onChange(Path abs) {
    if (!abs.startsWith(root)) {
      return;
    }
    String rel = relative(abs);
    Digest before = host.digests().invalidate(abs);
    if (abs.equals(graphFile)) {
      synchronized (this) {
        graphChanged = true;
        lastEventNanos = System.nanoTime();
        notifyAll();
      }
      return;
    }
    if (rel.equals(".") || RelativePaths.overlapsStateDir(rel) || index.insideOutput(rel)) {
      return; // BuildNet's own writes never start a cycle
    }
    synchronized (this) {
      if (!pending.containsKey(rel)) {
        pending.put(rel, before);
      }
      lastEventNanos = System.nanoTime();
      notifyAll();
    }
  }

  private void onLost(Path dir, String why) {
    synchronized (this) {
      lost.putIfAbsent(dir, why);
      lastEventNanos = System.nanoTime();
      notifyAll();
    }
  }

  /** Test seam: what the OS's OVERFLOW on {@code dir} does. */
  public void simulateOverflow(Path dir) {
    watcher.overflow(dir.toAbsolutePath().normalize(), "the operating system's event queue overflowed");
  }

  /** Test seam: the watcher (to lose events on purpose). */
  public DirectoryWatcher watcher() {
    return watcher;
  }

  /** Test seam: while held, changes gather but no cycle starts (debouncing without a clock). */
  public synchronized void hold() {
    held = true;
  }

  /** Test seam: lets the gathered changes make one cycle. */
  public synchronized void release() {
    held = false;
    notifyAll();
  }

  /** Test seam: the relative paths gathered for the next cycle. */
  public synchronized Set<String> pendingPaths() {
    return new java.util.TreeSet<>(pending.keySet());
  }

  /** How many directories are watched (for the benchmark and the CLI). */
  public int watchedDirectories() {
    return watcher.size();
  }

  private record Batch(Map<String, Digest> paths, Map<Path, String> lost, boolean graphChanged,
      long lastEventNanos, long takenNanos) {}

  /**
   * The last cycle's costs (for the benchmark): from its last event to its build's submission, and
   * of that the session's own work (digests of changed files, which targets, the order).
   */
  public record CycleTimes(long eventToSubmitNanos, long planNanos) {}

  private volatile CycleTimes lastTimes = new CycleTimes(0, 0);

  public CycleTimes lastCycleTimes() {
    return lastTimes;
  }

  private void loop() {
    boolean first = true;
    while (true) {
      Batch batch;
      synchronized (this) {
        try {
          while (!closed && !first && pending.isEmpty() && lost.isEmpty() && !graphChanged) {
            wait();
          }
          while (!closed) {
            long quiet = lastEventNanos + debounceNanos - System.nanoTime();
            if (held) {
              wait();
            } else if (!first && quiet > 0) {
              wait(Math.max(1, quiet / 1_000_000), 0);
            } else {
              break;
            }
          }
        } catch (InterruptedException e) {
          return;
        }
        if (closed) {
          return;
        }
        batch = new Batch(new TreeMap<>(pending), new LinkedHashMap<>(lost), graphChanged,
            lastEventNanos, System.nanoTime());
        pending.clear();
        lost.clear();
        graphChanged = false;
      }
      first = false;
      try {
        runCycle(batch);
      } catch (RuntimeException e) {
        if (isClosed()) {
          return;
        }
        LOG.warn("watch cycle failed: {}", e.toString());
        notice("the watch cycle failed: " + e.getMessage());
      }
    }
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  private void runCycle(Batch batch) {
    boolean rescanned = false;
    boolean reloaded = false;
    Set<String> affected = new HashSet<>();
    if (batch.graphChanged && !sameGraphText()) {
      try {
        BuildGraph reloadedGraph = WorkspaceFile.load(root);
        reloadedGraph.subgraphFor(requested); // the watched names must still exist
        finishInFlight(true);
        useGraph(reloadedGraph);
        watchRoots();
        reloaded = true;
        notice(WorkspaceFile.FILE_NAME + " changed: reloaded " + reloadedGraph.size() + " targets");
      } catch (RuntimeException | IOException e) {
        notice(WorkspaceFile.FILE_NAME + " is invalid; the previous graph keeps running: "
            + firstLine(e.getMessage()));
      }
    }
    TargetIndex idx = index;
    for (Map.Entry<Path, String> e : batch.lost.entrySet()) {
      Path dir = e.getKey();
      if (noticed.add(dir)) {
        notice("events were lost under " + dir + " (" + e.getValue() + "); rescanning it");
      }
      host.digests().distrustUnder(dir);
      try {
        watcher.watchTree(dir, false); // directories created while events were lost
      } catch (IOException ex) {
        notice("cannot watch " + dir + " again: " + ex.getMessage());
      }
      affected.addAll(idx.affected(relative(dir), false));
      rescanned = true;
    }
    List<String> changed = new ArrayList<>();
    int concerning = 0;
    for (Map.Entry<String, Digest> e : batch.paths.entrySet()) {
      String rel = e.getKey();
      Path abs = root.resolve(rel);
      if (Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)) {
        continue; // a directory that appeared: the watcher reports the files found in it
      }
      boolean file = Files.isRegularFile(abs);
      Set<String> concerned = idx.affected(rel, file);
      if (concerned.isEmpty()) {
        continue;
      }
      concerning++;
      if (file && e.getValue() != null && sameBytes(abs, e.getValue())) {
        continue; // touched, or rewritten with the same bytes
      }
      changed.add(rel);
      affected.addAll(concerned);
    }
    BuildGraph sub = watched;
    Set<String> dirty = new HashSet<>();
    boolean partial = host.partialBuilds();
    boolean firstCycle;
    synchronized (this) {
      firstCycle = cycleNumber == 0;
    }
    if (!firstCycle && concerning == 0 && !rescanned && !reloaded) {
      return; // no event concerned a watched target's inputs (a log file, an editor's swap file)
    }
    finishInFlight(reloaded || intersects(affected));
    // From what changed and what is not up to date, down through dependents: the cost follows
    // the targets to build, not the size of the graph.
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
    for (String a : affected) {
      if (sub.contains(a)) {
        todo.add(a);
      }
    }
    todo.addAll(notUpToDate);
    while (!todo.isEmpty()) {
      String n = todo.poll();
      if (dirty.add(n)) {
        for (Target d : sub.dependentsOf(n)) {
          todo.add(d.name());
        }
      }
    }
    if (!partial && !dirty.isEmpty()) {
      sub.topologicalOrder().forEach(t -> dirty.add(t.name()));
    }
    long number;
    synchronized (this) {
      if (closed) {
        return;
      }
      number = ++cycleNumber;
    }
    List<String> listed = changed.size() > MAX_LISTED ? changed.subList(0, MAX_LISTED) : changed;
    if (dirty.isEmpty()) {
      if (concerning > 0 || rescanned) {
        WatchListener.Cycle nothing =
            new WatchListener.Cycle(number, "", listed, changed.size(), List.of(), rescanned);
        tell(l -> l.cycleStarted(nothing));
      }
      return;
    }
    List<Target> order = new ArrayList<>();
    Map<String, Digest> upstream = new java.util.HashMap<>();
    Set<String> targets = new LinkedHashSet<>();
    List<String> sorted = new ArrayList<>(dirty);
    Map<String, Integer> position = positions;
    sorted.sort(java.util.Comparator.comparingInt(position::get));
    for (String name : sorted) {
      Target t = sub.get(name);
      order.add(t);
      targets.add(t.name());
      for (String dep : t.dependencies()) {
        if (!dirty.contains(dep)) {
          upstream.put(dep, upToDate.get(dep));
        }
      }
    }
    Set<String> roots = new LinkedHashSet<>(requested);
    roots.retainAll(targets);
    String buildId = java.util.UUID.randomUUID().toString();
    WatchListener.Cycle cycle = new WatchListener.Cycle(number, buildId, listed, changed.size(),
        List.copyOf(targets), rescanned);
    for (String t : targets) {
      upToDate.remove(t);
      notUpToDate.add(t);
    }
    tell(l -> l.cycleStarted(cycle));
    cycleSink.accept(cycle);
    long submitting = System.nanoTime();
    BuildFuture future = host.submit(buildId, order, upstream, roots);
    lastTimes = new CycleTimes(submitting - batch.lastEventNanos, submitting - batch.takenNanos);
    CompletableFuture<Void> done = new CompletableFuture<>();
    InFlight f = new InFlight(cycle, future, targets, done);
    synchronized (this) {
      inFlight = f;
    }
    future.result().whenComplete((result, failure) -> {
      try {
        if (result != null) {
          for (TargetOutcome o : result.targets()) {
            if (o.status().succeeded() && o.key() != null) {
              upToDate.put(o.target(), Digest.parse(o.key()));
              notUpToDate.remove(o.target());
            }
          }
          tell(l -> l.cycleFinished(cycle, result));
        }
      } finally {
        done.complete(null);
      }
    });
  }

  private byte[] graphText; // the buildnet.json last seen, so that a save of the same text is no change

  /** Whether buildnet.json holds what it held last time (remembers what it holds now). */
  private boolean sameGraphText() {
    byte[] now;
    try {
      now = Files.readAllBytes(graphFile);
    } catch (IOException e) {
      now = null;
    }
    boolean same = java.util.Arrays.equals(now, graphText);
    graphText = now;
    return same;
  }

  private boolean intersects(Set<String> affected) {
    InFlight f;
    synchronized (this) {
      f = inFlight;
    }
    if (f == null || f.done.isDone()) {
      return false;
    }
    for (String t : affected) {
      if (f.targets.contains(t)) {
        return true;
      }
    }
    // A change upstream of a running target makes its run stale too.
    for (Target t : watched.topologicalOrder()) {
      if (f.targets.contains(t.name())) {
        for (String dep : t.dependencies()) {
          if (affected.contains(dep)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** Waits for the running cycle's build to end, cancelling it first if {@code cancel}. */
  private void finishInFlight(boolean cancel) {
    InFlight f;
    synchronized (this) {
      f = inFlight;
    }
    if (f == null) {
      return;
    }
    if (cancel && !f.done.isDone()) {
      f.future.cancel(true);
    }
    f.done.join();
  }

  private boolean sameBytes(Path abs, Digest before) {
    try {
      return host.digests().digest(abs).equals(before);
    } catch (IOException e) {
      return false;
    }
  }

  private void notice(String message) {
    tell(l -> l.notice(message));
  }

  private void tell(Consumer<WatchListener> call) {
    try {
      call.accept(listener);
    } catch (RuntimeException e) {
      LOG.warn("a watch listener threw {}", e.toString());
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  /**
   * Stops watching: no new cycle starts, the running cycle's build is cancelled and awaited, the
   * watcher's thread ends and the digest cache goes back to checking every file. Idempotent.
   */
  @Override
  public void close() {
    InFlight f;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      f = inFlight;
      notifyAll();
    }
    watcher.close();
    host.digests().trustUntilInvalidated(null);
    if (f != null && !f.done.isDone()) {
      f.future.cancel(true);
    }
    if (Thread.currentThread() != cycles) {
      cycles.interrupt();
      try {
        cycles.join(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (f != null) {
      try {
        f.done.get(60, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        // the build ignores cancel: BuildNet.close() still stops it
      }
    }
  }

  public synchronized boolean isOpen() {
    return !closed;
  }
}
