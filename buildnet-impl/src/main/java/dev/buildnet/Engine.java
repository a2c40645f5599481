package dev.buildnet;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.BuildGraph;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dispatches ready targets of every running build onto local slots.
 *
 * <p>Order: higher priority first, then earlier builds (so a later build cannot starve an earlier
 * one), then dependency order. The head of the queue waits for enough free slots rather than being
 * overtaken, so a target that needs many slots is never starved by small ones. A target running in
 * one build is not started again by another until it finishes; the second then finds it cached.
 */
final class Engine {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  private final Object lock = new Object();
  private final PriorityQueue<Task> ready =
      new PriorityQueue<>(
          Comparator.comparingInt((Task t) -> -t.node.target.priority())
              .thenComparingLong(t -> t.run.sequence)
              .thenComparingInt(t -> t.node.order));
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
  private boolean accepting = true;

  Engine(Slots slots, Set<String> capabilities, Executor executor, TargetRunner runner,
      Listeners listeners) {
    this.slots = slots;
    this.capabilities = Set.copyOf(capabilities);
    this.executor = executor;
    this.runner = runner;
    this.listeners = listeners;
  }

  private record Task(BuildRun run, Node node, long readyNanos) {}

  BuildFuture submit(BuildGraph graph, Set<String> requested, boolean keepGoing) {
    return submit(UUID.randomUUID().toString(), graph, requested, keepGoing);
  }

  /** Starts a build with a caller-chosen id (a remote client's); the id must not be running. */
  BuildFuture submit(String buildId, BuildGraph graph, Set<String> requested, boolean keepGoing) {
    BuildFuture future = new BuildFuture(buildId, this::cancel);
    BuildRun run =
        new BuildRun(
            buildId,
            sequence.incrementAndGet(),
            graph,
            requested,
            keepGoing,
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
  CompletableFuture<Void> drain() {
    synchronized (lock) {
      accepting = false;
      if (runs.isEmpty()) {
        idle.complete(null);
      }
    }
    return idle;
  }

  /** Cancels the running build {@code buildId}; false if there is none. */
  boolean cancel(String buildId) {
    BuildRun run;
    synchronized (lock) {
      run = runs.stream().filter(r -> r.buildId.equals(buildId)).findFirst().orElse(null);
    }
    return run != null && run.future().cancel(true);
  }

  /** Cancels every running build. */
  void cancelAll() {
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
          ready.add(new Task(run, n, now));
        }
      }
    }
    for (Node n : settleNow) {
      Status s = run.isCancelled() ? Status.CANCELLED : Status.SKIPPED;
      finish(run, n, BuildRun.outcome(n, s, run.stopReason()));
    }
  }

  private void finish(BuildRun run, Node node, TargetOutcome outcome) {
    List<Node> next = run.finish(node, outcome);
    if (!next.isEmpty()) {
      enqueue(run, next);
    }
  }

  private void dispatch() {
    List<Task> start = new ArrayList<>();
    List<Task> settle = new ArrayList<>();
    synchronized (lock) {
      while (!ready.isEmpty()) {
        Task t = ready.peek();
        if (t.run.isStopped()) {
          ready.poll();
          settle.add(t);
          continue;
        }
        String name = t.node.name();
        String impossible = impossible(t.node);
        if (impossible != null) {
          ready.poll();
          settle.add(new Task(t.run, t.node, -1));
          continue;
        }
        if (busyTargets.contains(name)) {
          ready.poll();
          parked.computeIfAbsent(name, k -> new ArrayList<>()).add(t);
          continue;
        }
        if (!slots.tryClaim(t.node.target.cpuSlots(), t.node.target.memoryMb())) {
          break;
        }
        ready.poll();
        busyTargets.add(name);
        start.add(t);
      }
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
    for (Task t : start) {
      try {
        executor.execute(() -> run(t));
      } catch (RejectedExecutionException e) {
        release(t);
        finish(t.run, t.node, BuildRun.outcome(t.node, Status.FAILED, "executor rejected the target: " + e));
      }
    }
    if (!settle.isEmpty()) {
      dispatch();
    }
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

  private void run(Task t) {
    TargetOutcome outcome;
    try {
      outcome = runner.run(t.run, t.node, t.readyNanos);
    } catch (Throwable e) {
      LOG.error("target {} failed inside BuildNet", t.node.name(), e);
      outcome = BuildRun.outcome(t.node, Status.FAILED, "BuildNet failed while running it: " + e);
    }
    release(t);
    finish(t.run, t.node, outcome);
    dispatch();
  }

  private void release(Task t) {
    synchronized (lock) {
      slots.release(t.node.target.cpuSlots(), t.node.target.memoryMb());
      busyTargets.remove(t.node.name());
      List<Task> waiting = parked.remove(t.node.name());
      if (waiting != null) {
        ready.addAll(waiting);
      }
    }
  }
}
