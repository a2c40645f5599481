package dev.buildnet.bench;

import dev.buildnet.BuildNet;
import dev.buildnet.Watch;
import dev.buildnet.WatchListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.watch.WatchSession;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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
 * Watch mode on {@link EngineBenchmark}'s graph (10,000 targets, 5 input files each, 100 layers,
 * the no-op shell), built once and then watched with a zero debounce.
 *
 * <ul>
 *   <li>{@code editLeafInput}: rewrite one input of a target nothing depends on (a save: write
 *       elsewhere, rename into place) and wait for its cycle to finish. The iteration teardown
 *       prints, for the last edit, the time from the last event to the build's submission and the
 *       session's own share of it (the rest of the graph's cost).
 *   <li>{@code touchWithoutChange}: rewrite the same bytes; the cycle builds nothing.
 *   <li>{@code checkout1000}: 1,000 input files of the last two layers change while the session
 *       is held (a {@code git checkout}), then it is released: one cycle of 200 targets, which this
 *       checks.
 *   <li>{@code idleCpu}: one second of a watching engine with nothing changing; the CPU time its
 *       {@code buildnet-} threads used in it is printed.
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class WatchBenchmark {
  @Param({"10000"})
  int targets;

  private Path workspace;
  private BuildNet net;
  private Watch watch;
  private WatchSession session;
  private final BlockingQueue<WatchListener.Cycle> started = new LinkedBlockingQueue<>();
  private final BlockingQueue<BuildResult> finished = new LinkedBlockingQueue<>();
  private long edits;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    workspace = Files.createTempDirectory("buildnet-watch-bench");
    List<Target> graph = new ArrayList<>(targets);
    for (int i = 0; i < targets; i++) {
      Path dir = workspace.resolve("src/" + (i / 100));
      Files.createDirectories(dir);
      List<String> inputs = new ArrayList<>();
      for (int k = 0; k < 5; k++) {
        Files.writeString(dir.resolve(i + "-" + k + ".txt"), "input " + i + " " + k);
        inputs.add("src/" + (i / 100) + "/" + i + "-" + k + ".txt");
      }
      Target.Builder t = Target.builder("t" + i).command("write-output", "out/" + i + ".txt")
          .outputs("out/" + i + ".txt").inputs(inputs);
      if (i >= 100) {
        t.dependsOn("t" + (i - 100));
      }
      graph.add(t.build());
    }
    net = BuildNet.builder().workspace(workspace).targets(graph)
        .shell(new EngineBenchmark.NoOpShell()).start();
    List<String> leaves = new ArrayList<>();
    for (int i = targets - 100; i < targets; i++) {
      leaves.add("t" + i);
    }
    watch = net.watch(leaves, Duration.ZERO, new WatchListener() {
      @Override
      public void cycleStarted(Cycle cycle) {
        started.add(cycle);
      }

      @Override
      public void cycleFinished(Cycle cycle, BuildResult result) {
        finished.add(result);
      }
    });
    java.lang.reflect.Method m = Watch.class.getDeclaredMethod("session");
    m.setAccessible(true);
    session = (WatchSession) m.invoke(watch);
    take(started);
    BuildResult first = take(finished);
    if (!first.success()) {
      throw new IllegalStateException("the first cycle failed: " + first.errors());
    }
  }

  private static <T> T take(BlockingQueue<T> q) throws InterruptedException {
    T t = q.poll(10, TimeUnit.MINUTES);
    if (t == null) {
      throw new IllegalStateException("no cycle");
    }
    return t;
  }

  private void save(String rel, String text) throws Exception {
    Path tmp = workspace.resolve(".buildnet/bench.tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, workspace.resolve(rel), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  @Benchmark
  public BuildResult editLeafInput() throws Exception {
    int leaf = targets - 1;
    save("src/" + (leaf / 100) + "/" + leaf + "-0.txt", "edit " + (++edits));
    WatchListener.Cycle c = take(started);
    if (c.targets().size() != 1) {
      throw new IllegalStateException("expected one target to build: " + c);
    }
    return take(finished);
  }

  @Benchmark
  public WatchListener.Cycle touchWithoutChange() throws Exception {
    int leaf = targets - 2;
    save("src/" + (leaf / 100) + "/" + leaf + "-1.txt", "input " + leaf + " 1");
    WatchListener.Cycle c = take(started);
    if (!c.targets().isEmpty()) {
      throw new IllegalStateException("a touch built something: " + c);
    }
    return c;
  }

  @Benchmark
  public BuildResult checkout1000() throws Exception {
    session.hold();
    long n = ++edits;
    // 200 targets x 5 inputs, in the last two layers: what they change is 200 targets (changing
    // the first layers would re-run the whole 100-layer graph, which EngineBenchmark.schedule
    // measures).
    for (int i = targets - 200; i < targets; i++) {
      for (int k = 0; k < 5; k++) {
        save("src/" + (i / 100) + "/" + i + "-" + k + ".txt", "checkout " + n);
      }
    }
    while (session.pendingPaths().size() < 1000) {
      Thread.sleep(1);
    }
    session.release();
    WatchListener.Cycle c = take(started);
    if (c.changedCount() != 1000) {
      throw new IllegalStateException("not one cycle for the checkout: " + c.changedCount());
    }
    return take(finished);
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  public long idleCpu() throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long before = buildNetCpu(threads);
    Thread.sleep(1_000);
    long used = buildNetCpu(threads) - before;
    System.out.println("idle CPU of buildnet- threads over 1 s: " + used / 1_000 + " us");
    return used;
  }

  private static long buildNetCpu(ThreadMXBean threads) {
    long sum = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("buildnet-")) {
        long cpu = threads.getThreadCpuTime(t.getId());
        sum += Math.max(0, cpu);
      }
    }
    return sum;
  }

  @TearDown(Level.Iteration)
  public void report() {
    WatchSession.CycleTimes t = session.lastCycleTimes();
    System.out.printf("last cycle: event -> build submitted %.3f ms, of which planning %.3f ms%n",
        t.eventToSubmitNanos() / 1e6, t.planNanos() / 1e6);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    watch.close();
    net.close();
    try (var files = Files.walk(workspace)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
