package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The {@link Site} "this machine": its CPU slots and memory ({@link Slots}) and the capabilities it
 * offers. A claimed target runs on the engine's thread through {@link LocalExecution}.
 */
public final class LocalSlots implements Site {
  private final Slots slots;
  private final Set<String> capabilities;
  private final LocalExecution execution;
  private boolean reserved; // this pass: a waiting target keeps what is free here

  LocalSlots(Slots slots, Set<String> capabilities, LocalExecution execution) {
    this.slots = slots;
    this.capabilities = Set.copyOf(capabilities);
    this.execution = execution;
  }

  @Override
  public boolean couldRun(Target target) {
    // Slots first: on a master that runs nothing itself (localSlots(0)) that ends it, and most
    // targets need no capability: no iterator made for them on every dispatch pass.
    if (!slots.couldFit(target.cpuSlots(), target.memoryMb())) {
      return false;
    }
    Set<String> needed = target.requiredCapabilities();
    return needed.isEmpty() || capabilities.containsAll(needed);
  }

  @Override
  public void beginPass() {
    reserved = false;
  }

  @Override
  public Claim tryClaim(Node node) {
    Target t = node.target;
    return !reserved && slots.tryClaim(t.cpuSlots(), t.memoryMb()) ? new Local(t) : null;
  }

  @Override
  public void reserve(Target target) {
    reserved = true;
  }

  @Override
  public boolean hasRoomLeft() {
    return !reserved && !slots.full();
  }

  /** Nothing connects to this machine: what it cannot run now, it never can. */
  @Override
  public Duration capabilityWait() {
    return Duration.ZERO;
  }

  @Override
  public String unplaceable(Target target) {
    return "'" + target.name() + "' " + whyNot(target);
  }

  /** Why {@code target} can never run here, or null if it can once slots free up. */
  String whyNot(Target target) {
    if (!capabilities.containsAll(target.requiredCapabilities())) {
      Set<String> missing = new TreeSet<>(target.requiredCapabilities());
      missing.removeAll(capabilities);
      return "requires capabilities " + missing + " that this machine does not offer (it offers "
          + new TreeSet<>(capabilities) + "; add them with BuildNet.Builder.capabilities)";
    }
    return slots.impossible(target.cpuSlots(), target.memoryMb());
  }

  /** Slots claimed here for one target; released once its outcome is known. */
  private final class Local implements Claim {
    private final Target target;
    private boolean released; // guarded by this

    Local(Target target) {
      this.target = target;
    }

    @Override
    public boolean startsAtOnce() {
      return true;
    }

    @Override
    public CompletableFuture<TargetOutcome> run(Miss miss, Executor executor) throws IOException {
      return CompletableFuture.completedFuture(execution.run(miss));
    }

    @Override
    public synchronized void release() {
      if (!released) {
        released = true;
        slots.release(target.cpuSlots(), target.memoryMb());
      }
    }
  }
}
