package dev.buildnet.bench;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * The engine's own costs, with process spawning taken out by a no-op shell that writes each
 * target's one output in-process.
 *
 * <ul>
 *   <li>{@code nullBuild}: a graph of {@code targets} targets, 5 input files each, 100 layers deep,
 *       everything already cached and on disk: what an IDE pays when nothing changed.
 *   <li>{@code nullBuildHot}: the same null build by a BuildNet that keeps its file state hot
 *       from file events ({@code keepFileStateHot(true)}, as an IDE plugin or the CLI's daemon
 *       would): each build first syncs with the file events, then trusts unchanged inputs
 *       without a {@code stat}.
 *   <li>{@code schedule}: the same graph with caching off, so every target is keyed (5 input
 *       stats), dispatched, "run" and its output digested: the engine's whole per-target cost.
 *   <li>{@code scheduleOnly}: the same shape with no inputs and outputs: dispatch, events and
 *       bookkeeping alone. Divide by {@code targets} for the per-target scheduling overhead.
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class EngineBenchmark {
  @Param({"10000"})
  int targets;

  private Path workspace;
  private BuildNet cached;
  private BuildNet uncached;
  private BuildNet bare;

  /** Runs "write-output FILE" by writing FILE; anything else exits 0 at once. */
  static final class NoOpShell implements ShellProvider {
    @Override
    public RunningCommand start(CommandSpec spec, OutputListener listener) {
      if (spec.argv().size() == 2 && spec.argv().get(0).equals("write-output")) {
        try {
          Path out = spec.workingDirectory().resolve(spec.argv().get(1));
          Files.createDirectories(out.getParent());
          Files.writeString(out, spec.argv().get(1));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      CommandResult r = new CommandResult(CommandResult.Outcome.EXITED, 0, new byte[0],
          new byte[0], false, Duration.ZERO, Duration.ZERO, 0);
      CompletableFuture<CommandResult> done = CompletableFuture.completedFuture(r);
      return new RunningCommand() {
        @Override
        public long pid() {
          return -1;
        }

        @Override
        public CompletableFuture<CommandResult> result() {
          return done;
        }

        @Override
        public void cancel() {}
      };
    }
  }

  private List<Target> graph(boolean cacheable) {
    List<Target> out = new ArrayList<>(targets);
    for (int i = 0; i < targets; i++) {
      Target.Builder t = Target.builder("t" + i)
          .command("write-output", "out/" + i + ".txt")
          .outputs("out/" + i + ".txt")
          .cacheable(cacheable);
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

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    workspace = Files.createTempDirectory("buildnet-engine-bench");
    for (int i = 0; i < targets; i++) {
      Path dir = workspace.resolve("src/" + (i / 100));
      Files.createDirectories(dir);
      for (int k = 0; k < 5; k++) {
        Files.writeString(dir.resolve(i + "-" + k + ".txt"), "input " + i + " " + k);
      }
    }
    cached = BuildNet.builder().workspace(workspace).targets(graph(true)).shell(new NoOpShell())
        .start();
    BuildResult first = cached.buildAll().get(10, TimeUnit.MINUTES);
    if (!first.success()) {
      throw new IllegalStateException("priming build failed: " + first.errors());
    }
    uncached = BuildNet.builder().workspace(workspace).targets(graph(false))
        .shell(new NoOpShell()).state(dev.buildnet.api.state.StateBackend.inMemory()).start();
    List<Target> bareTargets = new ArrayList<>(targets);
    for (int i = 0; i < targets; i++) {
      Target.Builder t = Target.builder("t" + i).command("no-op").cacheable(false);
      if (i >= 100) {
        t.dependsOn("t" + (i - 100));
      }
      bareTargets.add(t.build());
    }
    bare = BuildNet.builder().workspace(workspace).targets(bareTargets).shell(new NoOpShell())
        .state(dev.buildnet.api.state.StateBackend.inMemory()).start();
  }

  @Benchmark
  public BuildResult nullBuild() throws Exception {
    return nullBuild(cached);
  }

  /** A BuildNet on the same workspace and graph that keeps its file state hot. */
  @State(Scope.Benchmark)
  public static class Hot {
    BuildNet net;

    @Setup(Level.Trial)
    public void setUp(EngineBenchmark bench) throws Exception {
      net = BuildNet.builder().workspace(bench.workspace).targets(bench.graph(true))
          .shell(new NoOpShell()).keepFileStateHot(true).start();
      bench.nullBuild(net); // from the cache the main set-up filled
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      net.close();
    }
  }

  @Benchmark
  public BuildResult nullBuildHot(Hot hot) throws Exception {
    return nullBuild(hot.net);
  }

  BuildResult nullBuild(BuildNet net) throws Exception {
    BuildResult r = net.buildAll().get(10, TimeUnit.MINUTES);
    if (r.count(dev.buildnet.api.build.TargetOutcome.Status.CACHED) != targets) {
      throw new IllegalStateException("not a null build: " + r.metrics().cache());
    }
    return r;
  }

  @Benchmark
  public BuildResult schedule() throws Exception {
    return uncached.buildAll().get(10, TimeUnit.MINUTES);
  }

  /** Dispatch alone: targets with no inputs or outputs, not cached, on a no-op shell. */
  @Benchmark
  public BuildResult scheduleOnly() throws Exception {
    return bare.buildAll().get(10, TimeUnit.MINUTES);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    bare.close();
    cached.close();
    uncached.close();
    deleteTree(workspace);
  }

  /** Deletes {@code root} and everything under it: benchmarks leave no scratch behind. */
  static void deleteTree(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
