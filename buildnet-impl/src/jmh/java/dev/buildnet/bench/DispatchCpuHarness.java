package dev.buildnet.bench;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@link DispatchBenchmark#dispatchNoOps}'s build, reporting CPU time per target as well as wall
 * time: on a machine shared with other load, CPU per target is the figure that does not depend
 * on how much of the CPU this process got; and the heap allocated per target. The CPU is also
 * split by who spent it: the master's network loop, the engine's threads ({@code buildnet-build-*}),
 * the 4 workers' network loops (the load generator, in this JVM), and the rest (JIT, GC, this
 * harness; the process's CPU time is counted in coarser ticks than threads', so that share is
 * within a few µs per target), so that what limits dispatch is not read off a figure about half
 * of which is the load generator.
 * {@code java -cp benchmarks.jar dev.buildnet.bench.DispatchCpuHarness [targets] [rounds]}.
 */
public final class DispatchCpuHarness {
  public static void main(String[] args) throws Exception {
    int targets = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    byte[] secret = "benchmark secret of 32 bytes!!!!".getBytes(StandardCharsets.UTF_8);
    Path workspace = Files.createTempDirectory("buildnet-dispatch-cpu");
    List<Target> graph = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < targets; i++) {
      graph.add(Target.builder("t" + i).command("noop").cacheable(false).requires("bench").build());
      names.add("t" + i);
    }
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (BuildNet net = BuildNet.builder().workspace(workspace).targets(graph).localSlots(0)
        .listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(secret))
        .state(dev.buildnet.api.state.StateBackend.inMemory()).start()) {
      InetSocketAddress at = AddOns.master(net).orElseThrow().localAddress();
      // The master's loop is the one running before any worker starts: workers' loops share its name.
      Set<Long> masterLoop = threadIds("buildnet-net-loop");
      List<Worker> workers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Worker w = BuildNet.worker().transport(TransportSettings.ofSecret(secret)).workerId("w" + i).cpuSlots(8).memoryMb(1024)
            .capabilities(List.of("bench")).shell(new EngineBenchmark.NoOpShell())
            .workDir(workspace.resolve("work-" + i)).connect(at.getHostString(), at.getPort());
        w.awaitConnected(Duration.ofSeconds(30));
        workers.add(w);
      }
      while (AddOns.master(net).orElseThrow().workers().size() < 4) {
        Thread.sleep(10);
      }
      for (int r = 0; r < rounds; r++) {
        long alloc0 = ThreadCounters.allocatedBytes();
        long[] switches0 = contextSwitches();
        long[] roles0 = cpuByRole(masterLoop);
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        BuildResult res = net.build(names, false).get(10, TimeUnit.MINUTES);
        long wall = System.nanoTime() - t0;
        long cpu = os.getProcessCpuTime() - cpu0;
        long alloc = ThreadCounters.allocatedBytes() - alloc0;
        long[] switches = contextSwitches();
        long[] roles = cpuByRole(masterLoop);
        if (!res.success()) {
          throw new IllegalStateException(res.errors().toString());
        }
        System.out.printf("round %d: %.0f ms wall = %.0f targets/s; %.1f us CPU per target"
                + " (= %.0f targets/s per core); %.1f KB allocated per target;"
                + " %.2f voluntary and %.2f involuntary context switches per target%n",
            r, wall / 1e6, targets / (wall / 1e9), cpu / 1e3 / targets, targets / (cpu / 1e9),
            alloc / 1024.0 / targets, (switches[0] - switches0[0]) / (double) targets,
            (switches[1] - switches0[1]) / (double) targets);
        long known = 0;
        for (int i = 0; i < roles.length; i++) {
          known += roles[i] - roles0[i];
        }
        System.out.printf("  CPU per target: master loop %.1f us, engine %.1f us, workers' loops %.1f us,"
                + " other (JIT, GC, harness) %.1f us%n", (roles[0] - roles0[0]) / 1e3 / targets,
            (roles[1] - roles0[1]) / 1e3 / targets, (roles[2] - roles0[2]) / 1e3 / targets,
            (cpu - known) / 1e3 / targets);
      }
      for (Worker w : workers) {
        w.close();
      }
    } finally {
      EngineBenchmark.deleteTree(workspace);
    }
  }

  /** The ids of the live threads named {@code name}. */
  private static Set<Long> threadIds(String name) {
    Set<Long> ids = new HashSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals(name)) {
        ids.add(t.getId());
      }
    }
    return ids;
  }

  /**
   * CPU time so far of the master's loop, the engine's threads and the other network loops (the
   * workers'), in that order; threads that ended are missed, as in
   * {@link ThreadCounters#allocatedBytes()}.
   */
  private static long[] cpuByRole(Set<Long> masterLoop) {
    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[] sum = new long[3];
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      int role = masterLoop.contains(t.getId()) ? 0
          : t.getName().startsWith("buildnet-build-") ? 1
          : t.getName().equals("buildnet-net-loop") ? 2 : -1;
      if (role >= 0) {
        sum[role] += Math.max(0, threads.getThreadCpuTime(t.getId()));
      }
    }
    return sum;
  }

  /**
   * Voluntary and involuntary context switches so far of the threads alive now, summed from
   * /proc/self/task/{tid}/status (the process's own status counts its first thread only); zeros
   * where there is no /proc. A floor, as {@link ThreadCounters#allocatedBytes()} is.
   */
  private static long[] contextSwitches() {
    long[] sum = new long[2];
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return sum;
    }
    try (var dirs = Files.newDirectoryStream(tasks)) {
      for (Path task : dirs) {
        List<String> lines;
        try {
          lines = Files.readAllLines(task.resolve("status"));
        } catch (java.io.IOException e) {
          continue; // the thread ended meanwhile
        }
        for (String line : lines) {
          if (line.startsWith("voluntary_ctxt_switches:")) {
            sum[0] += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
          } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
            sum[1] += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
          }
        }
      }
    } catch (java.io.IOException e) {
      return sum;
    }
    return sum;
  }

  private DispatchCpuHarness() {}
}
