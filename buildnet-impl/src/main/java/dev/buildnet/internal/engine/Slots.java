package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;
import java.util.function.LongSupplier;

/**
 * The local machine's capacity: CPU slots and memory. Thread-safe: the engine claims under its
 * dispatch lock, and a finished target releases outside it ({@link LocalSlots}).
 */
public final class Slots {
  private final int cpuTotal;
  private LongSupplier memoryTotal; // null once read into memoryTotalMb
  private long memoryTotalMb;
  private int cpuUsed;
  private long memoryUsedMb;

  public Slots(int cpuTotal, long memoryTotalMb) {
    this(cpuTotal, () -> memoryTotalMb);
  }

  /**
   * @param memoryTotalMb the memory in MB (at least 1), asked for only once a target needs some:
   *     the machine's physical memory comes from java.management, whose start costs a fresh CLI
   *     process tens of milliseconds of CPU, while most workspaces declare no memory at all
   */
  public Slots(int cpuTotal, LongSupplier memoryTotalMb) {
    this.cpuTotal = cpuTotal;
    this.memoryTotal = memoryTotalMb;
  }

  private synchronized long memoryTotalMb() {
    if (memoryTotal != null) {
      memoryTotalMb = memoryTotal.getAsLong();
      memoryTotal = null;
    }
    return memoryTotalMb;
  }

  /** Whether a need can be met here once enough is free: {@link #impossible} is null. */
  boolean couldFit(int cpu, long memoryMb) {
    return cpuTotal > 0 && cpu <= cpuTotal && (memoryMb <= 0 || memoryMb <= memoryTotalMb());
  }

  /** Why a need can never be met here, or null if it can once enough is free. */
  String impossible(int cpu, long memoryMb) {
    if (cpuTotal == 0) {
      return "runs no targets itself (BuildNet.Builder.localSlots(0))";
    }
    if (cpu > cpuTotal) {
      return "needs " + cpu + " CPU slots but only " + cpuTotal + " are configured";
    }
    if (memoryMb > 0 && memoryMb > memoryTotalMb()) {
      return "needs " + memoryMb + " MB of memory but only " + memoryTotalMb() + " MB are configured";
    }
    return null;
  }

  /** Whether no CPU slot is free. */
  synchronized boolean full() {
    return cpuUsed >= cpuTotal;
  }

  synchronized boolean tryClaim(int cpu, long memoryMb) {
    // Without a need for memory the total is not asked for: what is claimed never exceeds it.
    if (cpuUsed + cpu > cpuTotal || (memoryMb > 0 && memoryUsedMb + memoryMb > memoryTotalMb())) {
      return false;
    }
    cpuUsed += cpu;
    memoryUsedMb += memoryMb;
    return true;
  }

  synchronized void release(int cpu, long memoryMb) {
    cpuUsed -= cpu;
    memoryUsedMb -= memoryMb;
  }
}
