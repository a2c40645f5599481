package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;
import dev.buildnet.DispatchStats;
import dev.buildnet.BuildFuture;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateException;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.DiskSpace;
import dev.buildnet.internal.cache.KeyManifest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dispatches ready targets of every running build onto its {@link Site}s: this machine's slots
 * and, given a master, its remote workers.
 *
 * <p>Order: higher priority first; among equal priorities, fair between concurrent builds (each
 * ready target gets a virtual start time: one after its build's previous one, but never before the
 * last dispatched, so builds take turns and a new build cannot starve an old one); then dependency
 * order. A target that cannot be placed now reserves what it could use (local slots, the workers
 * able to run it) for the rest of the pass, so big targets are never starved by small ones. A
 * target running in one build is not started again by another until it finishes; the second then
 * finds it cached.
 *
 * <p>A ready target that neither this machine nor any connected worker can run waits (status
 * {@code waiting} in the history) until a capable worker connects, and fails after the
 * placement timeout. Without a master it fails at once: no site can ever gain what it needs
 * ({@link Site#capabilityWait} is zero for all).
 */
public final class Engine {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  private final Object lock = new Object();

  /**
   * Highest priority first, then earliest virtual start time, then oldest build, then graph order.
   * Written out rather than chained from Comparator.comparing...: a dispatch pass polls and re-adds
   * the head of a queue of thousands, and the chain of lambdas cost a visible share of it.
   */
  private static final Comparator<Task> READY_ORDER = (a, b) -> {
    // Negated as before, so Integer.MIN_VALUE keeps the place it had (-MIN_VALUE == MIN_VALUE).
    int c = Integer.compare(-a.priority, -b.priority);
    if (c != 0) {
      return c;
    }
    c = Long.compare(a.fairTime, b.fairTime);
    if (c != 0) {
      return c;
    }
    c = Long.compare(a.run.sequence, b.run.sequence);
    return c != 0 ? c : Integer.compare(a.node.order, b.node.order);
  };

  private final PriorityQueue<Task> ready = new PriorityQueue<>(READY_ORDER);
  /** Where targets run, asked in this order: remote workers (if any) first, then this machine. */
  private final List<Site> sites;
  /** The site a target no site can run waits for; it explains why (see Site#unplaceable). */
  private final Site waitFor;
  private final long placementTimeoutNanos; // 0: such a target fails at once
  private final Executor executor;
  /**
   * Per thread, whether it is running a task of {@link #settleExecutor}'s now: only there does a
   * remote attempt's settling go on to run the next target. Elsewhere (the network loop that
   * completed an attempt whose hand-off the executor refused) it is handed to the executor.
   */
  private final ThreadLocal<boolean[]> settling = ThreadLocal.withInitial(() -> new boolean[1]);

  /** The executor, marking its threads while they settle a remote attempt (see #settling). */
  private final Executor settleExecutor = this::settleOnEngineThread;
  /** Settlings handed to {@link #settleExecutor} and not yet taken (see settleOnEngineThread). */
  private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> settles =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Most settlings one executor task runs under one cork. */
  private static final int SETTLE_BATCH = 8;
  /**
   * How long what a settling dispatched may wait for the next ones to leave with it: several
   * no-op settlings' worth (~10 µs each), far below a worker's round trip.
   */
  private static final long HOLD_NANOS = 200_000;
  private final TargetRunner runner;
  private final AttemptPolicy policy;
  private final Listeners listeners;
  private final Set<String> busyTargets = new HashSet<>();
  private final Map<String, List<Task>> parked = new HashMap<>();
  private final Set<BuildRun> runs = new HashSet<>();
  private final AtomicLong sequence = new AtomicLong();
  /**
   * Per target, what dependents' keys covered of it when it last succeeded in a partial build (its
   * key and output digest): watch mode's next partial builds key against targets they do not
   * revisit. Every watch cycle is a partial build, so full builds leave this alone.
   */
  private final Map<String, KeyManifest.Dependency> settled =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final CompletableFuture<Void> idle = new CompletableFuture<>();
  /** The plan of the last full build submitted (see {@link BuildPlan#of(List, BuildPlan)}). */
  private volatile BuildPlan lastPlan;
  private final Map<Node, Long> waitingSince = new HashMap<>();
  private final Map<BuildRun, Long> lastFairTime = new HashMap<>();
  private final ScheduledExecutorService timer; // re-checks waiting targets; null if none waits
  private long virtualTime;
  private static final int LATENCY_SAMPLES = 1024;
  private final long[] latencies = new long[LATENCY_SAMPLES]; // ready -> started, ring, guarded
  private long latencyCount;
  private boolean accepting = true;

  /**
   * An engine dispatching onto {@code sites}, asked in that order for each target (BuildNet lists
   * the remote workers, if any, before this machine).
   */
  public Engine(List<Site> sites, Executor executor, TargetRunner runner, Listeners listeners) {
    if (sites.isEmpty() || sites.size() > Integer.SIZE - 1) {
      // A pass keeps the sites able to run a target in an int's bits (ableSites).
      throw new IllegalArgumentException("an engine needs 1 to 31 sites but got " + sites.size());
    }
    this.sites = List.copyOf(sites);
    this.waitFor = this.sites.stream().max(Comparator.comparing(Site::capabilityWait)).orElseThrow();
    this.placementTimeoutNanos = waitFor.capabilityWait().toNanos();
    this.timer = placementTimeoutNanos == 0 ? null : Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "buildnet-engine-timer");
      t.setDaemon(true);
      return t;
    });
    this.executor = executor;
    this.runner = runner;
    this.policy = runner.policy();
    this.listeners = listeners;
    for (Site s : this.sites) {
      s.onCapacityChange(this::dispatchSoon);
    }
  }

  /**
   * A ready target. Its priority is copied from the target: the queue's comparator reads it on
   * every sift, and reaching it through node and target cost two loads more each time.
   */
  private record Task(BuildRun run, Node node, long readyNanos, long fairTime, int priority) {
    Task(BuildRun run, Node node, long readyNanos, long fairTime) {
      this(run, node, readyNanos, fairTime, node.target.priority());
    }
  }

  /** Stops the timer. */
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }

  /** Runs a dispatch pass off the caller's thread (a worker event, a timer tick). */
  private void dispatchSoon() {
    try {
      executor.execute(this::dispatch);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  /** Starts a build with id {@code buildId}, which must not be running. */
  public BuildFuture submit(String buildId, BuildGraph graph, Set<String> requested, boolean keepGoing) {
    return submit(buildId, graph, requested, keepGoing, Set.of());
  }

  /** As above; the {@code forced} targets ignore cache hits (a BUILD_REQUEST's {@code force}). */
  public BuildFuture submit(String buildId, BuildGraph graph, Set<String> requested, boolean keepGoing,
      Set<String> forced) {
    return submit(buildId, graph, requested, keepGoing, forced, Set.of());
  }

  /** As above; the results of the {@code unrecorded} targets are not written to the cache. */
  public BuildFuture submit(String buildId, BuildGraph graph, Set<String> requested, boolean keepGoing,
      Set<String> forced, Set<String> unrecorded) {
    BuildFuture future = Futures.create(buildId, this::cancel);
    // A graph's topological order is immutable, so its plan is reused for as long as the same
    // list instance comes back: the same graph, or the same memoized subgraph of it.
    BuildPlan plan = BuildPlan.of(graph.topologicalOrder(), lastPlan);
    lastPlan = plan;
    BuildRun run =
        new BuildRun(
            buildId,
            sequence.incrementAndGet(),
            plan,
            Map.of(),
            requested,
            keepGoing,
            forced,
            unrecorded,
            listeners,
            future,
            System.nanoTime(),
            finished -> runner.flushRecords());
    return start(run, future);
  }

  /**
   * Watch mode: builds exactly {@code order} (dependencies first; what changed and what depends on
   * it), whose dependencies outside it are up to date with {@code upstreamKeys}, so that the cost
   * of a build follows what changed, not the size of the graph. Local sites only: a worker would
   * need the upstream outputs, which this build does not know.
   *
   * <p>Dependents' keys cover an upstream target's output digest (early cutoff), so each upstream
   * key is paired with the outputs this engine last settled under that key. One it has not settled
   * (never the case for a watch, whose upstream targets were built here) is keyed by its key: the
   * dependent then misses and runs, which is safe, never a wrong hit.
   */
  public BuildFuture submitPartial(String buildId, List<Target> order,
      Map<String, dev.buildnet.api.hash.Digest> upstreamKeys, Set<String> requested,
      boolean keepGoing) {
    Map<String, KeyManifest.Dependency> upstream = new java.util.HashMap<>();
    upstreamKeys.forEach((name, key) -> {
      KeyManifest.Dependency d = settled.get(name);
      upstream.put(name, d != null && d.key().equals(key) ? d : KeyManifest.Dependency.byKey(key));
    });
    BuildFuture future = Futures.create(buildId, this::cancel);
    BuildRun run = new BuildRun(buildId, sequence.incrementAndGet(), BuildPlan.of(order), upstream,
        requested, keepGoing, Set.of(), Set.of(), listeners, future, System.nanoTime(),
        this::finishing);
    return start(run, future);
  }

  /**
   * Once every target of a partial build is final: its records written and its results settled
   * for the next partial build (only watch mode's builds key against settled results).
   */
  private void finishing(BuildRun run) {
    runner.flushRecords();
    run.settled(settled::put);
  }

  private BuildFuture start(BuildRun run, BuildFuture future) {
    String buildId = run.buildId;
    synchronized (lock) {
      if (!accepting) {
        throw new IllegalStateException("BuildNet is closing; no new builds are accepted");
      }
      if (runs.stream().anyMatch(r -> r.buildId.equals(buildId))) {
        throw new IllegalArgumentException("a build with id '" + buildId + "' is running already");
      }
      runs.add(run);
    }
    future.result().whenComplete((r, t) -> forget(run));
    listeners.buildStarted(buildId, run.targetNames());
    enqueue(run, run.roots());
    dispatch();
    return future;
  }

  /** Stops accepting builds; the returned future completes when every running build has ended. */
  public CompletableFuture<Void> drain() {
    synchronized (lock) {
      accepting = false;
      if (runs.isEmpty()) {
        idle.complete(null);
      }
    }
    return idle;
  }

  /**
   * Cancels the running build {@code buildId}; false if there is none. A build whose
   * buildFinished event was published counts as finished here too, although the engine forgets it
   * only a moment later: the event and this answer must agree.
   */
  public boolean cancel(String buildId) {
    BuildRun run;
    synchronized (lock) {
      run = runs.stream().filter(r -> r.buildId.equals(buildId)).findFirst().orElse(null);
    }
    return run != null && !run.hasEnded() && run.future().cancel(true);
  }

  /** Cancels every running build. */
  public void cancelAll() {
    List<BuildRun> all;
    synchronized (lock) {
      all = new ArrayList<>(runs);
    }
    for (BuildRun r : all) {
      r.future().cancel(true);
    }
  }

  private void forget(BuildRun run) {
    synchronized (lock) {
      runs.remove(run);
      lastFairTime.remove(run);
      if (!accepting && runs.isEmpty()) {
        idle.complete(null);
      }
    }
  }

  private void cancel(BuildFuture future) {
    BuildRun run;
    synchronized (lock) {
      run = runs.stream().filter(r -> r.future() == future).findFirst().orElse(null);
    }
    if (run == null || !run.markCancelled()) {
      return;
    }
    List<Task> dropped = new ArrayList<>();
    synchronized (lock) {
      for (Iterator<Task> it = ready.iterator(); it.hasNext(); ) {
        Task t = it.next();
        if (t.run == run) {
          it.remove();
          dropped.add(t);
        }
      }
      for (List<Task> waiting : parked.values()) {
        for (Iterator<Task> it = waiting.iterator(); it.hasNext(); ) {
          Task t = it.next();
          if (t.run == run) {
            it.remove();
            dropped.add(t);
          }
        }
      }
    }
    for (Task t : dropped) {
      finish(t.run, t.node, BuildRun.outcome(t.node, Status.CANCELLED, run.stopReason()));
    }
    for (Node n : run.running()) {
      TargetExecution e = n.execution;
      if (e != null) {
        e.cancel();
      }
    }
  }

  private void enqueue(BuildRun run, List<Node> nodes) {
    long now = System.nanoTime();
    List<Node> settleNow = new ArrayList<>();
    synchronized (lock) {
      for (Node n : nodes) {
        if (run.isStopped()) {
          settleNow.add(n);
        } else {
          ready.add(new Task(run, n, now, fairTime(run)));
        }
      }
    }
    for (Node n : settleNow) {
      Status s = run.isCancelled() ? Status.CANCELLED : Status.SKIPPED;
      finish(run, n, BuildRun.outcome(n, s, run.stopReason()));
    }
  }

  /** The next virtual start time of {@code run}'s targets. Under the lock. */
  private long fairTime(BuildRun run) {
    long t = Math.max(lastFairTime.getOrDefault(run, 0L) + 1, virtualTime);
    lastFairTime.put(run, t);
    return t;
  }

  private void finish(BuildRun run, Node node, TargetOutcome outcome) {
    List<Node> next = run.finish(node, outcome);
    if (!next.isEmpty()) {
      enqueue(run, next);
    }
  }

  private record Start(Task task, Site.Claim claim) {}

  /** What one dispatch pass decided under the lock, carried out after it. */
  private static final class Pass {
    final long now = System.nanoTime();
    final List<Start> start = new ArrayList<>();
    // The rest are rare (a pass usually starts what finished and stops at the next target): made
    // on first use, not four lists per pass.
    List<Task> settle = List.of(); // stopped builds', and those no site can ever run
    List<Task> waitingNow = List.of(); // no site can run them yet
    List<Task> expired = List.of(); // waited for a site too long
    List<Task> skipped = List.of(); // back into the queue after the pass

    static List<Task> add(List<Task> list, Task t) {
      List<Task> l = list.isEmpty() ? new ArrayList<>() : list; // List.of() is the only empty one
      l.add(t);
      return l;
    }
  }

  /**
   * Starts what can start now: decides under the lock, then starts, settles and announces outside
   * it (listeners and the executor must not run under it).
   */
  private void dispatch() {
    dispatchKeeping(false);
  }

  /**
   * As {@link #dispatch()}; with {@code keepOne}, the first target to start is not handed to the
   * executor but returned, for the calling engine thread to run next (null if none starts).
   */
  private Start dispatchKeeping(boolean keepOne) {
    Start kept = null;
    while (true) {
      Pass pass = new Pass();
      synchronized (lock) {
        plan(pass);
      }
      settle(pass);
      announceWaiting(pass);
      expire(pass);
      if (keepOne && kept == null && !pass.start.isEmpty()) {
        kept = pass.start.remove(0);
      }
      start(pass);
      if (pass.settle.isEmpty() && pass.expired.isEmpty()) {
        return kept;
      }
      // settling readied dependents (or skipped them): another pass
    }
  }

  /** Takes ready targets in order and places each on the first site with room. Under the lock. */
  private void plan(Pass pass) {
    for (Site s : sites) {
      s.beginPass();
    }
    // The head is taken off only once it is dealt with: a pass usually ends at a target that must
    // wait (every slot taken), and it then stays where it is instead of being polled and re-added.
    for (Task t; (t = ready.peek()) != null; ) {
      if (!place(t, pass)) {
        break; // nothing is left for anyone behind it
      }
      ready.poll();
    }
    if (!pass.skipped.isEmpty()) {
      ready.addAll(pass.skipped);
    }
  }

  /**
   * Decides what happens to {@code t}, the queue's head, in this pass; false if it must wait for
   * capacity and no site has room left for a later target either (it then stays queued). Under
   * the lock; changes nothing in the queue.
   */
  private boolean place(Task t, Pass pass) {
    if (t.run.isStopped()) {
      notWaiting(t.node);
      pass.settle = Pass.add(pass.settle, t);
      return true;
    }
    Target target = t.node.target;
    int able = ableSites(target);
    if (able == 0) {
      unplaceable(t, pass);
      return true;
    }
    notWaiting(t.node);
    String name = t.node.name();
    if (busyTargets.contains(name)) {
      // Running in another build: started again once that ends, when it will find it cached.
      parked.computeIfAbsent(name, k -> new ArrayList<>()).add(t);
      return true;
    }
    for (int i = 0; i < sites.size(); i++) {
      Site.Claim claim = (able & 1 << i) == 0 ? null : sites.get(i).tryClaim(t.node);
      if (claim != null) {
        sample(pass.now - t.readyNanos);
        busyTargets.add(name);
        virtualTime = Math.max(virtualTime, t.fairTime);
        pass.start.add(new Start(t, claim));
        return true;
      }
    }
    // It must wait for capacity. With no room anywhere the pass ends here, and what it would
    // reserve matters to no later target: so reserve (listing the capable workers) only if some
    // site has room, keeping from later, smaller targets what it could use.
    boolean roomLeft = false;
    for (int i = 0; i < sites.size() && !roomLeft; i++) {
      roomLeft = sites.get(i).hasRoomLeft();
    }
    if (!roomLeft) {
      return false;
    }
    roomLeft = false;
    for (int i = 0; i < sites.size(); i++) {
      if ((able & 1 << i) != 0) {
        sites.get(i).reserve(target);
      }
      roomLeft |= sites.get(i).hasRoomLeft();
    }
    if (roomLeft) {
      pass.skipped = Pass.add(pass.skipped, t); // polled: back into the queue after the pass
    }
    return roomLeft;
  }

  /**
   * {@code node} no longer waits for a site. Usually none waits: then the map is not asked, as
   * asking hashes the node, and a node's first identity hash is made (and stored in its header)
   * at a cost paid for every target of every build. Under the lock.
   */
  private void notWaiting(Node node) {
    if (!waitingSince.isEmpty()) {
      waitingSince.remove(node);
    }
  }

  /** The sites that could run {@code target} once capacity frees up, as a bit set by index. */
  private int ableSites(Target target) {
    int able = 0;
    for (int i = 0; i < sites.size(); i++) {
      if (sites.get(i).couldRun(target)) {
        able |= 1 << i;
      }
    }
    return able;
  }

  /**
   * No site can run {@code t} now: it fails at once if none ever could, else waits for one (a
   * worker may connect) until the placement timeout. Under the lock.
   */
  private void unplaceable(Task t, Pass pass) {
    if (placementTimeoutNanos == 0) {
      pass.settle = Pass.add(pass.settle, t); // its build is not stopped: settle() fails it
      return;
    }
    Long since = waitingSince.putIfAbsent(t.node, pass.now);
    if (since == null) {
      pass.waitingNow = Pass.add(pass.waitingNow, t);
      pass.skipped = Pass.add(pass.skipped, t);
    } else if (pass.now - since >= placementTimeoutNanos) {
      waitingSince.remove(t.node);
      pass.expired = Pass.add(pass.expired, t);
    } else {
      pass.skipped = Pass.add(pass.skipped, t);
    }
  }

  /**
   * Ends the targets of stopped builds (skipped or cancelled) and those no site can ever run
   * (failed). A build is stopped for good, so a target seen stopped in the pass still is.
   */
  private void settle(Pass pass) {
    for (Task t : pass.settle) {
      if (t.run.isStopped()) {
        Status s = t.run.isCancelled() ? Status.CANCELLED : Status.SKIPPED;
        finish(t.run, t.node, BuildRun.outcome(t.node, s, t.run.stopReason()));
      } else {
        finish(t.run, t.node, BuildRun.outcome(t.node, Status.FAILED,
            waitFor.unplaceable(t.node.target)));
      }
    }
  }

  /** Fails the targets that waited for a capable site longer than the placement timeout. */
  private void expire(Pass pass) {
    for (Task t : pass.expired) {
      finish(t.run, t.node, BuildRun.outcome(t.node, Status.FAILED,
          waitFor.unplaceable(t.node.target) + "; gave up after waiting "
              + Duration.ofNanos(placementTimeoutNanos) + " (BuildNet.Builder.placementTimeout)"));
    }
  }

  private void announceWaiting(Pass pass) {
    for (Task t : pass.waitingNow) {
      Listeners.targetWaiting(t.run.listener, t.run.buildId, t.node.name(),
          waitFor.unplaceable(t.node.target));
      // A capable worker joining dispatches at once; this pass fails the target if none did.
      timer.schedule(this::dispatch, placementTimeoutNanos + 1_000_000, TimeUnit.NANOSECONDS);
    }
  }

  private void start(Pass pass) {
    for (Start s : pass.start) {
      try {
        executor.execute(() -> work(s));
      } catch (RejectedExecutionException e) {
        release(s.task, s.claim);
        finish(s.task.run, s.task.node, BuildRun.outcome(s.task.node, Status.FAILED,
            "executor rejected the target: " + e));
      }
    }
  }

  /** Records a ready-to-started latency. Under the lock. */
  private void sample(long nanos) {
    latencies[(int) (latencyCount++ % LATENCY_SAMPLES)] = Math.max(0, nanos);
  }

  /** The queue and recent dispatch latencies. */
  public DispatchStats stats() {
    long[] sorted;
    long n;
    int queued;
    int waiting;
    int running;
    synchronized (lock) {
      n = Math.min(latencyCount, LATENCY_SAMPLES);
      sorted = java.util.Arrays.copyOf(latencies, (int) n);
      queued = ready.size() + parked.values().stream().mapToInt(List::size).sum();
      waiting = waitingSince.size();
      running = busyTargets.size();
    }
    java.util.Arrays.sort(sorted);
    return new DispatchStats(queued, waiting, running, n, quantile(sorted, 0.5),
        quantile(sorted, 0.9), quantile(sorted, 0.99),
        Duration.ofNanos(sorted.length == 0 ? 0 : sorted[sorted.length - 1]));
  }

  private static Duration quantile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Duration.ZERO;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return Duration.ofNanos(sorted[Math.max(0, Math.min(sorted.length - 1, i))]);
  }

  /**
   * Runs {@code first} on this executor thread and then, as long as finishing one readies another
   * that can start, that one too: a chain of cache hits (a null build) then runs on one thread
   * without a hand-off through the executor's queue, and a wake-up of another thread, per target.
   * Only a target whose outcome was known when its run returned passes one on (its thread is then
   * free); one that completes later, on whatever thread completes it, dispatches as before.
   */
  private void work(Start first) {
    for (Start s = first; s != null; ) {
      if (s != first || s.claim.startsAtOnce()) {
        // A local run, or a chain of them and cache hits, may take long: what a settling held
        // for sending (see settleQueued) does not wait for it.
        dev.buildnet.internal.transport.Cork.flush();
      }
      s = run(s.task, s.claim);
    }
  }

  /**
   * Runs {@code t} on its claim (on an executor thread), then settles it and dispatches again;
   * returns a target for this thread to run next, or null.
   *
   * <p>An outcome known before this returns (a cache hit, a local run) is settled on this thread,
   * and the target it keeps is returned to {@link #work}'s loop. A remote attempt's outcome comes
   * later, from a task on {@link #settleExecutor}: that thread settles it and then runs the next
   * target itself (what a local chain does too), rather than waking another thread for it: on a
   * busy machine that hand-off cost about as much as the rest of a no-op target's dispatch.
   */
  private Start run(Task t, Site.Claim claim) {
    CompletableFuture<TargetOutcome> outcome;
    try {
      outcome = runner.run(t.run, t.node, t.readyNanos, claim, settleExecutor);
    } catch (Throwable e) {
      outcome = CompletableFuture.failedFuture(e);
    }
    Thread caller = Thread.currentThread();
    Chain chain = new Chain();
    outcome.whenComplete((o, e) -> {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
          ? e.getCause() : e;
      release(t, claim);
      if (!(cause instanceof RemoteAttempt.Requeue r && requeue(t, r))) {
        finish(t.run, t.node, cause == null ? o : failedInside(t, cause));
      }
      // Done when whenComplete was called: the action runs at once, on the registering thread.
      // (chain is read only by that thread, so its plain field needs no barrier.)
      boolean here = Thread.currentThread() == caller && chain.registering;
      Start next = dispatchKeeping(here || settling.get()[0]);
      if (here) {
        chain.next = next;
      } else if (next != null) {
        work(next);
      }
    });
    chain.registering = false;
    return chain.next;
  }

  /**
   * Runs {@code task} (a remote attempt's settling) on the executor, marked (see #settling). One
   * executor task per settling, as before; but each runs, corked, all the settlings queued by
   * then (up to {@link #SETTLE_BATCH}), and one that finds none left does nothing. Results a
   * worker sent together (several per read on the master's loop) are then usually settled by one
   * thread, and the TARGET_RUNs of the attempts they make room for leave in one write per worker
   * (see {@link dev.buildnet.internal.transport.Cork}) instead of one write each.
   */
  private void settleOnEngineThread(Runnable task) {
    settles.add(task);
    try {
      executor.execute(this::settleQueued);
    } catch (RejectedExecutionException e) {
      if (settles.remove(task)) {
        throw e; // as before: the completing thread hears that the hand-off was refused
      }
      // else a thread settling already took it
    }
  }

  /** Settles what is queued; see {@link #settleOnEngineThread}. */
  private void settleQueued() {
    boolean[] flag = settling.get();
    boolean before = flag[0];
    flag[0] = true;
    dev.buildnet.internal.transport.Cork.begin();
    try {
      // Bounded, so a held TARGET_RUN waits for a few settlings at most (the executor tasks
      // queued with the rest take them), and for no settling that is slow (outputs to restore):
      // what is held leaves once HOLD_NANOS have passed.
      long since = System.nanoTime();
      for (int i = 0; i < SETTLE_BATCH; i++) {
        Runnable t = settles.poll();
        if (t == null) {
          break;
        }
        t.run();
        long now = System.nanoTime();
        if (now - since > HOLD_NANOS) {
          dev.buildnet.internal.transport.Cork.flush();
          since = now;
        }
      }
    } finally {
      flag[0] = before;
      dev.buildnet.internal.transport.Cork.end(); // what the settlings dispatched leaves now
    }
  }

  /** What {@link #run}'s completion action passes back when it runs on the registering thread. */
  private static final class Chain {
    boolean registering = true;
    Start next;
  }


  /** The outcome of a target whose run threw {@code cause} instead of giving one. */
  private static TargetOutcome failedInside(Task t, Throwable cause) {
    String storage = storageFailure(cause);
    if (storage != null) {
      // The disk is full (or the state store failed): a condition, not a bug, so one line
      // without a stack trace, once per build, however many targets it fails.
      if (t.run.firstStorageFailure()) {
        LOG.warn("build {}: BuildNet cannot write its state or cache: {}", t.run.buildId, storage);
      }
      return BuildRun.outcome(t.node, Status.FAILED,
          "BuildNet cannot write its state or cache: " + storage);
    }
    if (cause instanceof RemoteAttempt.Requeue) {
      return BuildRun.outcome(t.node, Status.FAILED,
          AttemptPolicy.lostTooOften(t.node, cause.getMessage()));
    }
    LOG.error("target {} failed inside BuildNet", t.node.name(), cause);
    return BuildRun.outcome(t.node, Status.FAILED, "BuildNet failed while running it: " + cause);
  }

  /**
   * The message of a failure of BuildNet's own storage (the state backend, or a full disk under
   * the blob store), or null for anything else.
   */
  static String storageFailure(Throwable cause) {
    for (Throwable c = cause; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof StateException s && s.reason() != StateException.Reason.LOCK_NOT_HELD) {
        return c.getMessage();
      }
      if (c instanceof java.io.IOException && DiskSpace.isFull(c)) {
        return c.getMessage();
      }
    }
    return null;
  }

  /**
   * Puts an attempt whose site was lost back in the queue, for any site; false once the
   * {@link AttemptPolicy} says it was lost too often (or its build stopped).
   */
  private boolean requeue(Task t, RemoteAttempt.Requeue why) {
    synchronized (lock) {
      if (t.run.isStopped() || !policy.requeuesAfterLostSite(t.node)) {
        return false;
      }
      LOG.warn("re-queueing '{}' of build {}: {}", t.node.name(), t.run.buildId, why.getMessage());
      waitingSince.remove(t.node); // a wait for a worker starts afresh
      ready.add(new Task(t.run, t.node, System.nanoTime(), t.fairTime));
      return true;
    }
  }

  /** Returns {@code t}'s capacity and lets builds waiting for the same target go on. */
  private void release(Task t, Site.Claim claim) {
    claim.release();
    synchronized (lock) {
      busyTargets.remove(t.node.name());
      List<Task> waiting = parked.remove(t.node.name());
      if (waiting != null) {
        ready.addAll(waiting);
      }
    }
  }
}
