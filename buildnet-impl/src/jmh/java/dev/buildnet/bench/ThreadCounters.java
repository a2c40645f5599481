package dev.buildnet.bench;

import java.lang.management.ManagementFactory;

/** Counters the CPU harnesses read about the threads of this JVM. */
final class ThreadCounters {
  private ThreadCounters() {}

  /**
   * Bytes allocated so far by the threads alive now (a thread that ended since the last call is
   * missed: the figure is a floor, close when the same threads serve every round).
   */
  static long allocatedBytes() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long b : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      sum += Math.max(0, b);
    }
    return sum;
  }
}
