package dev.buildnet.internal.engine;

import dev.buildnet.BuildFuture;
import dev.buildnet.BuildNet;
import dev.buildnet.DispatchStats;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.LockNotHeldException;
import dev.buildnet.api.state.StateException;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.DiskSpace;
import dev.buildnet.internal.master.Dispatcher;
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
 * Dispatches ready targets of every running build onto local slots and, given a master's
 * {@link Dispatcher}, onto remote workers.
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
 * placement timeout. Without a master it fails at once: nothing could ever connect.
 */
public final class Engine {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  private final Object lock = new Object();
  private static final int MAX_REQUEUES = 3;

  /**
   * Highest priority first, then earliest virtual start time, then oldest build, then graph order.
   * Written out rather than chained from Comparator.comparing...: a dispatch pass polls and re-adds
   * the head of a queue of thousands, and the chain of lambdas cost a visible share of it.
   */
  private static final Comparator<Task> READY_ORDER = (a, b) -> {
    // Negated as before, so Integer.MIN_VALUE keeps the place it had (-MIN_VALUE == MIN_VALUE).
    int c = Integer.compare(-a.node.target.priority(), -b.node.target.priority());
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
  private final Slots slots;
  private final Set<String> capabilities;
  private final Executor executor;
  private final TargetRunner runner;
  private final Listeners listeners;
  private final Set<String> busyTargets = new HashSet<>();
  private final Map<String, List<Task>> parked = new HashMap<>();
  private final Set<BuildRun> runs = new HashSet<>();
  private final AtomicLong sequence = new AtomicLong();
  private final CompletableFuture<Void> idle = new CompletableFuture<>();
  private final Map<Node, Long> waitingSince = new HashMap<>();
  private final Map<BuildRun, Long> lastFairTime = new HashMap<>();
  private final Dispatcher dispatcher; // null: local only
  private final long placementTimeoutNanos;
  private final ScheduledExecutorService timer; // re-checks waiting targets; null without dispatcher
  private long virtualTime;
  private static final int LATENCY_SAMPLES = 1024;
  private final long[] latencies = new long[LATENCY_SAMPLES]; // ready -> started, ring, guarded
  private long latencyCount;
  private boolean accepting = true;

  public Engine(Slots slots, Set<String> capabilities, Executor executor, TargetRunner runner,
      Listeners listeners, Dispatcher dispatcher, Duration placementTimeout) {
    this.dispatcher = dispatcher;
    this.placementTimeoutNanos = placementTimeout.toNanos();
    if (dispatcher != null) {
      timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "buildnet-engine-timer");
        t.setDaemon(true);
        return t;
      });
      dispatcher.onChange(this::dispatchSoon);
    } else {
      timer = null;
    }
    this.slots = slots;
    this.capabilities = Set.copyOf(capabilities);
    this.executor = executor;
    this.runner = runner;
    this.listeners = listeners;
  }

  private record Task(BuildRun run, Node node, long readyNanos, long fairTime) {}

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
    BuildFuture future = new BuildFuture(buildId, this::cancel);
    BuildRun run =
        new BuildRun(
            buildId,
            sequence.incrementAndGet(),
            graph,
            requested,
            keepGoing,
            forced,
            unrecorded,
            listeners,
            future,
            System.nanoTime());
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

  private record Start(Task task, Dispatcher.Placement placement) {}

  private void dispatch() {
    List<Start> start = new ArrayList<>();
    List<Task> settle = new ArrayList<>();
    List<Task> waitingNow = new ArrayList<>();
    List<Task> expired = new ArrayList<>();
    synchronized (lock) {
      List<Task> skipped = new ArrayList<>();
      boolean localReserved = false;
      Set<String> reserved = new HashSet<>();
      long now = System.nanoTime();
      while (!ready.isEmpty()) {
        Task t = ready.poll();
        if (t.run.isStopped()) {
          waitingSince.remove(t.node);
          settle.add(t);
          continue;
        }
        String name = t.node.name();
        Target target = t.node.target;
        boolean local = canRunHere(target);
        Set<String> needs = remoteNeeds(target);
        boolean remote = dispatcher != null
            && dispatcher.couldRun(needs, target.cpuSlots(), target.memoryMb());
        if (!local && !remote) {
          if (dispatcher == null) {
            settle.add(new Task(t.run, t.node, -1, t.fairTime));
          } else {
            Long since = waitingSince.putIfAbsent(t.node, now);
            if (since == null) {
              waitingNow.add(t);
              skipped.add(t);
            } else if (now - since >= placementTimeoutNanos) {
              waitingSince.remove(t.node);
              expired.add(t);
            } else {
              skipped.add(t);
            }
          }
          continue;
        }
        waitingSince.remove(t.node);
        if (busyTargets.contains(name)) {
          parked.computeIfAbsent(name, k -> new ArrayList<>()).add(t);
          continue;
        }
        if (remote) {
          var placed = dispatcher.tryPlace(needs, target.cpuSlots(), target.memoryMb(), reserved,
              keptInputsOn(t.node));
          if (placed.isPresent()) {
            sample(now - t.readyNanos);
            busyTargets.add(name);
            virtualTime = Math.max(virtualTime, t.fairTime);
            start.add(new Start(t, placed.get()));
            continue;
          }
        }
        if (local && !localReserved
            && slots.tryClaim(target.cpuSlots(), target.memoryMb())) {
          sample(now - t.readyNanos);
          busyTargets.add(name);
          virtualTime = Math.max(virtualTime, t.fairTime);
          start.add(new Start(t, null));
          continue;
        }
        // It must wait for capacity: keep what it could use from later, smaller targets.
        skipped.add(t);
        localReserved |= local;
        if (remote) {
          reserved.addAll(dispatcher.capableWorkers(needs));
        }
        if (dispatcher == null || (localReserved || slots.full()) && !dispatcher.hasFreeSlot(reserved)) {
          break; // nothing is left for anyone behind it
        }
      }
      ready.addAll(skipped);
    }
    for (Task t : settle) {
      if (t.readyNanos < 0) {
        String why = impossible(t.node);
        finish(t.run, t.node, BuildRun.outcome(t.node, Status.FAILED, "'" + t.node.name() + "' " + why));
      } else {
        Status s = t.run.isCancelled() ? Status.CANCELLED : Status.SKIPPED;
        finish(t.run, t.node, BuildRun.outcome(t.node, s, t.run.stopReason()));
      }
    }
    for (Task t : waitingNow) {
      Listeners.targetWaiting(t.run.listener, t.run.buildId, t.node.name(), unplaceable(t.node));
      // A capable worker joining dispatches at once; this pass fails the target if none did.
      timer.schedule(this::dispatch, placementTimeoutNanos + 1_000_000, TimeUnit.NANOSECONDS);
    }
    for (Task t : expired) {
      finish(t.run, t.node, BuildRun.outcome(t.node, Status.FAILED, unplaceable(t.node)
          + "; gave up after waiting " + Duration.ofNanos(placementTimeoutNanos)
          + " (BuildNet.Builder.placementTimeout)"));
    }
    for (Start s : start) {
      try {
        executor.execute(() -> run(s.task, s.placement));
      } catch (RejectedExecutionException e) {
        release(s.task, s.placement);
        finish(s.task.run, s.task.node, BuildRun.outcome(s.task.node, Status.FAILED,
            "executor rejected the target: " + e));
      }
    }
    if (!settle.isEmpty() || !expired.isEmpty()) {
      dispatch();
    }
  }

  /**
   * What a worker must offer to run {@code target}: its required capabilities, plus for a bundler
   * target the worker's capability for that adapter.
   */
  private static Set<String> remoteNeeds(Target target) {
    if (target.bundler().isEmpty()) {
      return target.requiredCapabilities();
    }
    Set<String> needs = new HashSet<>(target.requiredCapabilities());
    needs.add(dev.buildnet.worker.Worker.Builder.bundlerCapability(target.bundler().get().adapter()));
    return needs;
  }

  /**
   * The worker that kept the most bytes of {@code node}'s dependencies' outputs (deferred
   * materialization), or null: running there moves none of them.
   */
  private static String keptInputsOn(Node node) {
    Map<String, Long> bytes = null;
    for (Node dep : node.dependencies) {
      DeferredOutputs.Kept k = dep.kept;
      if (k != null && !k.materialized) {
        if (bytes == null) {
          bytes = new HashMap<>();
        }
        long size = k.manifest.outputs().stream()
            .mapToLong(dev.buildnet.internal.cache.ActionManifest.Output::size).sum();
        bytes.merge(k.workerId, size, Long::sum);
      }
    }
    if (bytes == null) {
      return null;
    }
    return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).get().getKey();
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

  /** Why nothing can run {@code node} now, for its waiting status and its error. */
  private String unplaceable(Node node) {
    Target t = node.target;
    return "'" + t.name() + "' needs capabilities " + new java.util.TreeSet<>(remoteNeeds(t))
        + ", " + t.cpuSlots() + " CPU slots and " + t.memoryMb() + " MB: this machine "
        + impossible(node) + ", and no connected worker offers that ("
        + dispatcher.describeWorkers() + ")";
  }

  /** Whether this machine could run {@code target} once slots free up (no message built). */
  private boolean canRunHere(Target target) {
    return capabilities.containsAll(target.requiredCapabilities())
        && slots.couldFit(target.cpuSlots(), target.memoryMb());
  }

  /** Why {@code node} can never run here, or null. */
  private String impossible(Node node) {
    if (!capabilities.containsAll(node.target.requiredCapabilities())) {
      Set<String> missing = new java.util.TreeSet<>(node.target.requiredCapabilities());
      missing.removeAll(capabilities);
      return "requires capabilities " + missing + " that this machine does not offer (it offers "
          + new java.util.TreeSet<>(capabilities) + "; add them with BuildNet.Builder.capabilities)";
    }
    return slots.impossible(node.target.cpuSlots(), node.target.memoryMb());
  }

  private void run(Task t, Dispatcher.Placement placement) {
    CompletableFuture<TargetOutcome> outcome;
    try {
      outcome = runner.run(t.run, t.node, t.readyNanos, placement, executor);
    } catch (Throwable e) {
      outcome = CompletableFuture.failedFuture(e);
    }
    outcome.whenComplete((o, e) -> {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
          ? e.getCause() : e;
      release(t, placement);
      if (cause instanceof RemoteAttempt.Requeue r && requeue(t, r)) {
        dispatch();
        return;
      }
      TargetOutcome result = o;
      String storage = cause == null ? null : storageFailure(cause);
      if (storage != null) {
        // The disk is full (or the state store failed): a condition, not a bug, so one line
        // without a stack trace, once per build, however many targets it fails.
        if (t.run.firstStorageFailure()) {
          LOG.warn("build {}: BuildNet cannot write its state or cache: {}", t.run.buildId, storage);
        }
        result = BuildRun.outcome(t.node, Status.FAILED,
            "BuildNet cannot write its state or cache: " + storage);
      } else if (cause != null) {
        if (!(cause instanceof RemoteAttempt.Requeue)) {
          LOG.error("target {} failed inside BuildNet", t.node.name(), cause);
        }
        result = BuildRun.outcome(t.node, Status.FAILED, cause instanceof RemoteAttempt.Requeue
            ? "'" + t.node.name() + "' lost its worker " + (MAX_REQUEUES + 1) + " times; last: "
                + cause.getMessage()
            : "BuildNet failed while running it: " + cause);
      }
      finish(t.run, t.node, result);
      dispatch();
    });
  }

  /**
   * The message of a failure of BuildNet's own storage (the state backend, or a full disk under
   * the blob store), or null for anything else.
   */
  static String storageFailure(Throwable cause) {
    for (Throwable c = cause; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof StateException && !(c instanceof LockNotHeldException)) {
        return c.getMessage();
      }
      if (c instanceof java.io.IOException && DiskSpace.isFull(c)) {
        return c.getMessage();
      }
    }
    return null;
  }

  /** Puts an attempt whose worker was lost back in the queue; false once it was lost too often. */
  private boolean requeue(Task t, RemoteAttempt.Requeue why) {
    synchronized (lock) {
      if (t.run.isStopped() || ++t.node.requeues > MAX_REQUEUES) {
        return false;
      }
      LOG.warn("re-queueing '{}' of build {}: {}", t.node.name(), t.run.buildId, why.getMessage());
      waitingSince.remove(t.node); // a wait for a worker starts afresh
      ready.add(new Task(t.run, t.node, System.nanoTime(), t.fairTime));
      return true;
    }
  }

  private void release(Task t, Dispatcher.Placement placement) {
    if (placement != null) {
      placement.release();
    }
    synchronized (lock) {
      if (placement == null) {
        slots.release(t.node.target.cpuSlots(), t.node.target.memoryMb());
      }
      busyTargets.remove(t.node.name());
      List<Task> waiting = parked.remove(t.node.name());
      if (waiting != null) {
        ready.addAll(waiting);
      }
    }
  }
}
