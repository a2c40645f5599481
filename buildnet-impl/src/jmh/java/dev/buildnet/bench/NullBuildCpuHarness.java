package dev.buildnet.bench;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * {@link EngineBenchmark#nullBuild}'s 10,000-target null build, reporting per build the process's
 * CPU time (every thread: engine, GC, compiler) besides the wall time, which on a shared machine
 * says more about the neighbours than about the build. {@code java -Xmx2g -cp benchmarks.jar
 * dev.buildnet.bench.NullBuildCpuHarness [warm-up builds] [measured builds] [hot]}; with
 * {@code hot}, {@link EngineBenchmark#nullBuildHot}'s BuildNet, which keeps its file state hot.
 */
public final class NullBuildCpuHarness {
  public static void main(String[] args) throws Exception {
    int warm = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int builds = args.length > 1 ? Integer.parseInt(args[1]) : 40;
    EngineBenchmark bench = new EngineBenchmark();
    bench.targets = 10_000;
    bench.setUp();
    EngineBenchmark.Hot hot = null;
    try {
      if (args.length > 2 && args[2].equals("hot")) {
        hot = new EngineBenchmark.Hot();
        hot.setUp(bench);
      }
      dev.buildnet.BuildNet net = hot != null ? hot.net : null;
      for (int i = 0; i < warm; i++) {
        build(bench, net);
      }
      OperatingSystemMXBean os =
          (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      double[] wall = new double[builds];
      long[] times = userSystemTicks();
      long allocated = ThreadCounters.allocatedBytes();
      long cpu = os.getProcessCpuTime();
      for (int i = 0; i < builds; i++) {
        long t = System.nanoTime();
        build(bench, net); // throws unless every target was a cache hit
        wall[i] = (System.nanoTime() - t) / 1e6;
      }
      cpu = os.getProcessCpuTime() - cpu;
      allocated = ThreadCounters.allocatedBytes() - allocated;
      long[] after = userSystemTicks();
      Arrays.sort(wall);
      System.out.printf("%snull build of %d targets: wall min %.0f ms, median %.0f ms; process CPU"
          + " %.0f ms per build (%d builds after %d warm-up)%n", hot != null ? "hot " : "",
          bench.targets, wall[0],
          wall[builds / 2], cpu / 1e6 / builds, builds, warm);
      if (times != null && after != null) {
        // /proc/self/stat's clock ticks (USER_HZ, 100 on Linux): coarse, so over all the builds.
        System.out.printf("  of which user %.0f ms, system %.0f ms per build; %.1f MB allocated"
            + " per build by the threads alive at the end%n",
            (after[0] - times[0]) * 10.0 / builds, (after[1] - times[1]) * 10.0 / builds,
            allocated / 1e6 / builds);
      }
    } finally {
      if (hot != null) {
        hot.tearDown();
      }
      bench.tearDown();
    }
  }

  /** utime and stime from /proc/self/stat, in clock ticks; null where there is none. */
  private static long[] userSystemTicks() {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }

  private static void build(EngineBenchmark bench, dev.buildnet.BuildNet hot) throws Exception {
    if (hot != null) {
      bench.nullBuild(hot);
    } else {
      bench.nullBuild();
    }
  }
}
