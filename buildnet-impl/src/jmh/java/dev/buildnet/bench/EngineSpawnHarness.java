package dev.buildnet.bench;

import com.sun.jna.Native;
import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link SpawnCostHarness} through the engine: a build of {@code targets} independent, uncached
 * targets that each run {@code /bin/true} through the default shell provider (no subreaper, as
 * an embedding host has it), on {@code slots} local slots. Per target: wall time, the JVM's CPU
 * time and its voluntary and involuntary context switches (from {@code getrusage}, every thread
 * counted, ended ones included). Linux only. {@code java -Djdk.lang.Process.launchMechanism=VFORK
 * -cp benchmarks.jar dev.buildnet.bench.EngineSpawnHarness [targets] [rounds] [slots]}; each
 * round's line ends with the 1-minute load average.
 */
public final class EngineSpawnHarness {
  private EngineSpawnHarness() {}

  public static void main(String[] args) throws Exception {
    int targets = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int slots = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    SpawnCostHarness.CLib libc = Native.load("c", SpawnCostHarness.CLib.class);
    Path workspace = Files.createTempDirectory("buildnet-engine-spawn");
    List<Target> graph = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < targets; i++) {
      graph.add(Target.builder("t" + i).command("/bin/true").cacheable(false).build());
      names.add("t" + i);
    }
    try (BuildNet net = BuildNet.builder().workspace(workspace).targets(graph).localSlots(slots)
        .state(dev.buildnet.api.state.StateBackend.inMemory()).start()) {
      for (int w = 0; w < 2; w++) {
        build(net, names); // warm-up: JIT, thread pools
      }
      for (int r = 0; r < rounds; r++) {
        SpawnCostHarness.measure(libc, "engine, " + slots + " slot(s)", "target", targets, () -> {
          try {
            build(net, names);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
      }
    } finally {
      EngineBenchmark.deleteTree(workspace);
    }
  }

  private static void build(BuildNet net, List<String> names) throws Exception {
    BuildResult res = net.build(names, false).get(10, TimeUnit.MINUTES);
    if (!res.success()) {
      throw new IllegalStateException(res.errors().toString());
    }
  }
}
