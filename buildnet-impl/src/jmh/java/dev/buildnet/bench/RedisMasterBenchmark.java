package dev.buildnet.bench;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import dev.buildnet.redis.RedisBlobStore;
import dev.buildnet.redis.RedisStateBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Masters sharing a cache through a local {@code redis-server} (started on a free loopback port).
 *
 * <p>{@code secondMasterFirstBuild}: master A has built {@link EngineBenchmark}'s 10,000-target
 * graph with state and blobs on Redis; each measured operation is a new master B, with its own
 * empty workspace (sources only) and local cache, building the whole graph: every target a hit,
 * its manifest read from Redis and its output fetched from Redis, verified and restored; nothing
 * runs. {@code secondMasterNullBuild}: such a master building again, outputs present.
 *
 * <p>Run: {@code java -jar buildnet-impl/target/benchmarks.jar RedisMasterBenchmark}.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class RedisMasterBenchmark {
  private static final int TARGETS = 10_000;

  private RedisServerProcess server;
  private RedisStateBackend redis;
  private Path root;
  private BuildNet b;
  private BuildNet warm;
  private int iteration;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    server = RedisServerProcess.start();
    redis = RedisStateBackend.builder("127.0.0.1", server.port).prefix("bench:").open();
    root = Files.createTempDirectory("buildnet-redis-bench");
    Path a = workspace("a");
    try (BuildNet master = master(a)) {
      BuildResult r = master.buildAll().get(10, TimeUnit.MINUTES);
      if (!r.success()) {
        throw new IllegalStateException("master A's build failed: " + r.errors());
      }
    }
    warm = master(workspace("warm"));
    nullBuild(warm); // fetches everything once
  }

  private BuildNet master(Path ws) {
    return BuildNet.builder().workspace(ws).targets(graph())
        .shell(new EngineBenchmark.NoOpShell()).state(redis)
        .sharedBlobs(RedisBlobStore.on(redis)).start();
  }

  private Path workspace(String name) throws IOException {
    Path ws = root.resolve(name);
    for (int i = 0; i < TARGETS; i++) {
      Path dir = ws.resolve("src/" + (i / 100));
      Files.createDirectories(dir);
      for (int k = 0; k < 5; k++) {
        Files.writeString(dir.resolve(i + "-" + k + ".txt"), "input " + i + " " + k);
      }
    }
    return ws;
  }

  /** EngineBenchmark's graph: 10,000 targets, 5 inputs each, 100 layers deep. */
  private static List<Target> graph() {
    List<Target> out = new ArrayList<>(TARGETS);
    for (int i = 0; i < TARGETS; i++) {
      Target.Builder t = Target.builder("t" + i).command("write-output", "out/" + i + ".txt")
          .outputs("out/" + i + ".txt");
      List<String> inputs = new ArrayList<>();
      for (int k = 0; k < 5; k++) {
        inputs.add("src/" + (i / 100) + "/" + i + "-" + k + ".txt");
      }
      t.inputs(inputs);
      if (i >= 100) {
        t.dependsOn("t" + (i - 100));
      }
      out.add(t.build());
    }
    return out;
  }

  @Setup(Level.Iteration)
  public void newSecondMaster() throws IOException {
    if (b != null) {
      b.close();
    }
    b = master(workspace("b" + iteration++));
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    if (b != null) {
      b.close();
    }
    warm.close();
    redis.close();
    server.close();
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** A new master's first build: everything from Redis (one op per iteration: a fresh master). */
  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public BuildResult secondMasterFirstBuild() throws Exception {
    return nullBuild(b);
  }

  /** The second master's build again: manifests remembered, outputs on disk. */
  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public BuildResult secondMasterNullBuild() throws Exception {
    return nullBuild(warm);
  }

  private static BuildResult nullBuild(BuildNet master) throws Exception {
    BuildResult r = master.buildAll().get(10, TimeUnit.MINUTES);
    if (r.count(TargetOutcome.Status.CACHED) != TARGETS) {
      throw new IllegalStateException("not a null build: " + r.metrics().cache());
    }
    return r;
  }
}
