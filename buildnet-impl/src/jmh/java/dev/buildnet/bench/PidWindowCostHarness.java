package dev.buildnet.bench;

import dev.buildnet.internal.exec.PidWindow;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The CPU that the leftover-process check without the subreaper costs per command for its
 * counters alone ({@link PidWindow}: what a command's start reads before its fork and its end
 * reads after), back to back on one thread, as consecutive commands of a build read them. Linux
 * only. {@code java -cp benchmarks.jar dev.buildnet.bench.PidWindowCostHarness [commands]
 * [rounds]}; to measure another build's {@code PidWindow}, put its jar first on the class path
 * ({@code -cp before.jar:benchmarks.jar}).
 */
public final class PidWindowCostHarness {
  private PidWindowCostHarness() {}

  public static void main(String[] args) {
    int commands = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    long root = ProcessHandle.current().pid(); // any live pid: no pid window is then empty
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    for (int r = 0; r < rounds; r++) {
      long cpu0 = threads.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      int bounded = 0;
      for (int i = 0; i < commands; i++) {
        PidWindow window = PidWindow.beforeFork();
        if (window != null && window.after(root) != null) {
          bounded++;
        }
      }
      long t1 = System.nanoTime();
      long cpu1 = threads.getCurrentThreadCpuTime();
      System.out.printf("pid window: CPU %.1f us, wall %.1f us per command (%d of %d bounded)%n",
          (cpu1 - cpu0) / 1e3 / commands, (t1 - t0) / 1e3 / commands, bounded, commands);
    }
  }
}
