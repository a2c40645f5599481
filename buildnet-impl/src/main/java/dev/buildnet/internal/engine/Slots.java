package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;

/**
 * The local machine's capacity: CPU slots and memory. Thread-safe: the engine claims under its
 * dispatch lock, and a finished target releases outside it ({@link LocalSlots}).
 */
public final class Slots {
  private final int cpuTotal;
  private final long memoryTotalMb;
  private int cpuUsed;
  private long memoryUsedMb;

  public Slots(int cpuTotal, long memoryTotalMb) {
    this.cpuTotal = cpuTotal;
    this.memoryTotalMb = memoryTotalMb;
  }

  /** Whether a need can be met here once enough is free: {@link #impossible} is null. */
  boolean couldFit(int cpu, long memoryMb) {
    return cpuTotal > 0 && cpu <= cpuTotal && memoryMb <= memoryTotalMb;
  }

  /** Why a need can never be met here, or null if it can once enough is free. */
  String impossible(int cpu, long memoryMb) {
    if (cpuTotal == 0) {
      return "runs no targets itself (BuildNet.Builder.localSlots(0))";
    }
    if (cpu > cpuTotal) {
      return "needs " + cpu + " CPU slots but only " + cpuTotal + " are configured";
    }
    if (memoryMb > memoryTotalMb) {
      return "needs " + memoryMb + " MB of memory but only " + memoryTotalMb + " MB are configured";
    }
    return null;
  }

  /** Whether no CPU slot is free. */
  synchronized boolean full() {
    return cpuUsed >= cpuTotal;
  }

  synchronized boolean tryClaim(int cpu, long memoryMb) {
    if (cpuUsed + cpu > cpuTotal || memoryUsedMb + memoryMb > memoryTotalMb) {
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
