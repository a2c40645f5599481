package dev.buildnet.examples.embed;

import dev.buildnet.BuildNet;
import dev.buildnet.Watch;
import dev.buildnet.WatchListener;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.bundle.EsbuildAdapter;
import dev.buildnet.graph.Target;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * What an IDE plugin does with BuildNet: embed it, watch the workspace, and show the bundler's
 * diagnostics as a problems list after every save. One esbuild target bundles
 * {@code src/main.ts} (and what it imports below {@code src/}) into {@code dist/}; each cycle
 * prints {@code file:line:column: message} per problem, or that there are none.
 *
 * <pre>{@code
 * java -cp buildnet.jar dev.buildnet.examples.embed.IdeWatchExample /path/to/workspace
 * }</pre>
 *
 * esbuild is looked up in the workspace's {@code node_modules/.bin}, then on {@code PATH}
 * ({@code npm install esbuild}). Ctrl-C stops it.
 */
public final class IdeWatchExample implements AutoCloseable {
  private final BuildNet net;
  private final Watch watch;

  /** Starts watching {@code workspace}; problems go to {@code out} after each cycle. */
  public IdeWatchExample(Path workspace, PrintStream out) {
    BundlerAdapter esbuild = EsbuildAdapter.builder(workspace)
        .shell(dev.buildnet.api.exec.ShellProvider.processes())
        .hashes(dev.buildnet.api.hash.HashProvider.xxh64())
        .build();
    if (!esbuild.availability().available()) {
      throw new IllegalStateException("esbuild is not available: "
          + esbuild.availability().reason() + " (npm install esbuild)");
    }
    net = BuildNet.builder()
        .workspace(workspace)
        .state(StateBackend.inMemory()) // an IDE session: nothing to keep between runs
        .bundler(esbuild)
        .targets(List.of(Target.builder("bundle")
            .bundler("esbuild", Map.of("format", "esm"), List.of("src/main.ts"), "dist")
            .inputs("src/**/*.ts")
            .outputs("dist")
            .build()))
        .start();
    watch = net.watch(List.of("bundle"), new WatchListener() {
      @Override
      public void cycleFinished(Cycle cycle, BuildResult result) {
        out.println(problems(cycle, result));
        out.flush();
      }

      @Override
      public void notice(String message) {
        out.println("note: " + message);
      }
    });
  }

  /** A problems list: one {@code file:line:column: message} line per diagnostic. */
  static String problems(WatchListener.Cycle cycle, BuildResult result) {
    StringBuilder sb = new StringBuilder();
    int count = 0;
    for (TargetOutcome o : result.targets()) {
      for (BuildError e : o.errors()) {
        count++;
        sb.append('\n').append(e.file() == null ? o.target() : e.file());
        if (e.line() > 0) {
          sb.append(':').append(e.line()).append(':').append(e.column());
        }
        sb.append(": ").append(e.message().lines().findFirst().orElse(""));
      }
      if (o.status() == TargetOutcome.Status.CANCELLED) {
        return "cycle " + cycle.number() + ": superseded by a newer change";
      }
    }
    return "cycle " + cycle.number() + ": " + (count == 0 ? "no problems" : count + " problem"
        + (count == 1 ? "" : "s")) + sb;
  }

  @Override
  public void close() {
    watch.close();
    net.close();
  }

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 1) {
      System.err.println("usage: IdeWatchExample WORKSPACE");
      System.exit(2);
    }
    IdeWatchExample ide = new IdeWatchExample(Path.of(args[0]), System.out);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      ide.close(); // cancels a running bundle and waits for esbuild to end
      stopped.countDown();
    }, "ide-example-shutdown"));
    System.out.println("watching " + args[0] + " (Ctrl-C stops)");
    stopped.await();
  }
}
