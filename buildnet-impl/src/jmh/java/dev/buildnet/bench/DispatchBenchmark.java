package dev.buildnet.bench;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.master.Dispatcher;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Dispatch throughput: a build of {@code targets} independent no-op targets (no inputs, no
 * outputs, not cached) sent by an embedded master to 4 workers over loopback, each with 8 slots
 * and a shell that "runs" a command in-process. Every target pays the whole remote path: key,
 * placement, TARGET_RUN, BUILD_STARTED, BUILD_COMPLETED, result bookkeeping ({@code
 * dispatchNoOps}); {@code dispatcherOnly} leaves out the engine. Divide {@code targets} by the
 * time for targets/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class DispatchBenchmark {
  private static final byte[] SECRET = "benchmark secret of 32 bytes!!!!".getBytes(StandardCharsets.UTF_8);

  @Param({"5000"})
  int targets;

  private Path workspace;
  private BuildNet net;
  private final List<Worker> workers = new ArrayList<>();
  private List<String> names;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    workspace = Files.createTempDirectory("buildnet-dispatch-bench");
    List<Target> graph = new ArrayList<>();
    names = new ArrayList<>();
    for (int i = 0; i < targets; i++) {
      graph.add(Target.builder("t" + i).command("noop").cacheable(false).requires("bench").build());
      names.add("t" + i);
    }
    net = BuildNet.builder().workspace(workspace).targets(graph).localSlots(0)
        .listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET))
        .state(dev.buildnet.api.state.StateBackend.inMemory()).start();
    InetSocketAddress at = AddOns.master(net).orElseThrow().localAddress();
    for (int i = 0; i < 4; i++) {
      Worker w = BuildNet.worker().transport(TransportSettings.ofSecret(SECRET)).workerId("w" + i).cpuSlots(8).memoryMb(1024)
          .capabilities(List.of("bench")).shell(new EngineBenchmark.NoOpShell())
          .workDir(workspace.resolve("work-" + i)).connect(at.getHostString(), at.getPort());
      if (!w.awaitConnected(Duration.ofSeconds(30))) {
        throw new IllegalStateException("worker " + i + " did not connect");
      }
      workers.add(w);
    }
    while (AddOns.master(net).orElseThrow().workers().size() < 4) {
      Thread.sleep(10);
    }
  }

  @Benchmark
  public BuildResult dispatchNoOps() throws Exception {
    BuildResult r = net.build(names, false).get(10, TimeUnit.MINUTES);
    if (!r.success()) {
      throw new IllegalStateException(r.errors().toString());
    }
    return r;
  }

  private int round;

  /**
   * The dispatcher and workers alone, without the engine (no keys, no cache, no output checks):
   * the master keeps 32 attempts in flight (4 workers x 8 slots) through placement, TARGET_RUN,
   * the worker's sandbox and no-op shell, and BUILD_COMPLETED.
   */
  @Benchmark
  public int dispatcherOnly() throws Exception {
    Dispatcher d = AddOns.master(net).orElseThrow().dispatcher();
    String buildId = "bench-" + (++round);
    Semaphore window = new Semaphore(32);
    CountDownLatch done = new CountDownLatch(targets);
    AtomicInteger failed = new AtomicInteger();
    for (int i = 0; i < targets; i++) {
      window.acquire();
      Dispatcher.Placement p;
      while ((p = d.tryPlace(Set.of("bench"), 1, 0, Set.of()).orElse(null)) == null) {
        Thread.onSpinWait(); // a slot is released just before the window permit
      }
      Dispatcher.Placement placed = p;
      TargetRun run = new TargetRun(buildId, names.get(i), 1, List.of("noop"), "", Map.of(),
          List.of(), List.of(), null, null);
      placed.run(run, progress -> {}).whenComplete((r, e) -> {
        if (e != null || !r.succeeded()) {
          failed.incrementAndGet();
        }
        placed.release();
        window.release();
        done.countDown();
      });
    }
    if (!done.await(10, TimeUnit.MINUTES) || failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " attempts failed");
    }
    return targets;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    for (Worker w : workers) {
      w.close();
    }
    net.close();
    EngineBenchmark.deleteTree(workspace);
  }
}
