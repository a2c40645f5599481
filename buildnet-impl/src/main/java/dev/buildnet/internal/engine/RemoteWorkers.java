package dev.buildnet.internal.engine;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.master.Dispatcher;
import dev.buildnet.worker.Worker;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The {@link Site} "the master's connected workers", through its {@link Dispatcher}. A claim is a
 * {@link Dispatcher.Placement}; the attempt itself is a {@link RemoteAttempt}. A target no worker
 * can run waits up to the placement timeout, since a capable worker may still connect.
 */
final class RemoteWorkers implements Site {
  private final Dispatcher dispatcher;
  private final Duration placementTimeout;
  private final RemoteAttempt attempts;
  private final LocalSlots here; // only to say, in a waiting target's note, why it cannot run here
  private final Set<String> reserved = new HashSet<>(); // this pass: workers waiting targets keep

  RemoteWorkers(Dispatcher dispatcher, Duration placementTimeout, RemoteAttempt attempts,
      LocalSlots here) {
    this.dispatcher = dispatcher;
    this.placementTimeout = placementTimeout;
    this.attempts = attempts;
    this.here = here;
  }

  @Override
  public boolean couldRun(Target target) {
    return dispatcher.couldRun(needs(target), target.cpuSlots(), target.memoryMb());
  }

  @Override
  public void beginPass() {
    reserved.clear();
  }

  @Override
  public Claim tryClaim(Node node) {
    Target t = node.target;
    return dispatcher.tryPlace(needs(t), t.cpuSlots(), t.memoryMb(), reserved, keptInputsOn(node))
        .map(Remote::new).orElse(null);
  }

  @Override
  public void reserve(Target target) {
    reserved.addAll(dispatcher.capableWorkers(needs(target)));
  }

  @Override
  public boolean hasRoomLeft() {
    return dispatcher.hasFreeSlot(reserved);
  }

  @Override
  public Duration capabilityWait() {
    return placementTimeout;
  }

  @Override
  public void onCapacityChange(Runnable listener) {
    dispatcher.onChange(listener);
  }

  @Override
  public String unplaceable(Target t) {
    return "'" + t.name() + "' needs capabilities " + new TreeSet<>(needs(t)) + ", "
        + t.cpuSlots() + " CPU slots and " + t.memoryMb() + " MB: this machine "
        + here.whyNot(t) + ", and no connected worker offers that ("
        + dispatcher.describeWorkers() + ")";
  }

  /**
   * What a worker must offer to run {@code target}: its required capabilities, plus for a bundler
   * target the worker's capability for that adapter.
   */
  static Set<String> needs(Target target) {
    if (target.bundler().isEmpty()) {
      return target.requiredCapabilities();
    }
    Set<String> needs = new HashSet<>(target.requiredCapabilities());
    needs.add(Worker.Builder.bundlerCapability(target.bundler().get().adapter()));
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
        long size = k.manifest.outputs().stream().mapToLong(ActionManifest.Output::size).sum();
        bytes.merge(k.workerId, size, Long::sum);
      }
    }
    if (bytes == null) {
      return null;
    }
    return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).get().getKey();
  }

  /** A placement on one worker. */
  private final class Remote implements Claim {
    private final Dispatcher.Placement placement;

    Remote(Dispatcher.Placement placement) {
      this.placement = placement;
    }

    @Override
    public boolean startsAtOnce() {
      return false;
    }

    @Override
    public CompletableFuture<TargetOutcome> run(Miss miss, Executor executor) throws IOException {
      return attempts.run(miss, placement, executor);
    }

    @Override
    public void release() {
      placement.release();
    }
  }
}
