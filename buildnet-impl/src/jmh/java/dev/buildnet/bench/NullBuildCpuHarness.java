package dev.buildnet.bench;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * {@link EngineBenchmark#nullBuild}'s 10,000-target null build, reporting per build the process's
 * CPU time (every thread: engine, GC, compiler) besides the wall time, which on a shared machine
 * says more about the neighbours than about the build. {@code java -Xmx2g -cp benchmarks.jar
 * dev.buildnet.bench.NullBuildCpuHarness [warm-up builds] [measured builds]}.
 */
public final class NullBuildCpuHarness {
  public static void main(String[] args) throws Exception {
    int warm = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int builds = args.length > 1 ? Integer.parseInt(args[1]) : 40;
    EngineBenchmark bench = new EngineBenchmark();
    bench.targets = 10_000;
    bench.setUp();
    try {
      for (int i = 0; i < warm; i++) {
        bench.nullBuild();
      }
      OperatingSystemMXBean os =
          (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      double[] wall = new double[builds];
      long cpu = os.getProcessCpuTime();
      for (int i = 0; i < builds; i++) {
        long t = System.nanoTime();
        bench.nullBuild(); // throws unless every target was a cache hit
        wall[i] = (System.nanoTime() - t) / 1e6;
      }
      cpu = os.getProcessCpuTime() - cpu;
      Arrays.sort(wall);
      System.out.printf("null build of %d targets: wall min %.0f ms, median %.0f ms; process CPU"
          + " %.0f ms per build (%d builds after %d warm-up)%n", bench.targets, wall[0],
          wall[builds / 2], cpu / 1e6 / builds, builds, warm);
    } finally {
      bench.tearDown();
    }
  }
}
