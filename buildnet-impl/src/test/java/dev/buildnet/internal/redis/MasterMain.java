package dev.buildnet.internal.redis;

import dev.buildnet.redis.RedisBlobStore;
import dev.buildnet.redis.RedisStateBackend;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A master in a child JVM for {@link TwoMastersTest}: builds {@link #graph} in its own workspace
 * with state, blobs and build-once on a shared Redis, prints {@code RESULT <success> <built>
 * <cached>} and exits.
 *
 * <p>Arguments: redis port, key prefix, workspace, runs directory (shared by the masters: each
 * target appends a line to {@code <runs>/<target>.runs} when its command runs), lease millis.
 */
public final class MasterMain {
  /** How many independent {@code gen-i} targets the graph has besides {@code slow} and {@code all}. */
  static final int GENERATED = 6;

  private MasterMain() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String prefix = args[1];
    Path workspace = Path.of(args[2]);
    Path runs = Path.of(args[3]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[4]));
    writeSources(workspace);
    try (RedisStateBackend redis = RedisStateBackend.builder("127.0.0.1", port).prefix(prefix)
            .open();
        BuildNet net = BuildNet.builder().workspace(workspace).targets(graph(runs))
            .state(redis).sharedBlobs(RedisBlobStore.on(redis))
            .buildOnce(lease, Duration.ofSeconds(60)).localSlots(2).start()) {
      BuildResult r = net.build("all").get();
      System.out.println("RESULT " + r.success() + " " + r.count(TargetOutcome.Status.BUILT)
          + " " + r.count(TargetOutcome.Status.CACHED));
      if (!r.success()) {
        r.targets().forEach(t -> System.err.println(t.target() + ": " + t.status() + " "
            + t.reason()));
      }
    }
    System.exit(0); // do not wait for pooled non-daemon threads of the Redis client
  }

  static void writeSources(Path workspace) throws Exception {
    Files.createDirectories(workspace.resolve("src"));
    for (int i = 0; i < GENERATED; i++) {
      Files.writeString(workspace.resolve("src/" + i + ".txt"), "source " + i + "\n");
    }
  }

  /**
   * {@code gen-i} copies a source with a twist; {@code slow} waits (up to 10 s) for the file
   * {@code <runs>/go} before it writes its output, so a test can hold it mid-run; {@code all}
   * concatenates everything. Every command first appends a timestamp to its runs file.
   */
  static List<Target> graph(Path runs) {
    List<Target> targets = new ArrayList<>();
    List<String> deps = new ArrayList<>();
    String log = "date +%s%N >> \"" + runs + "/$T.runs\"; ";
    for (int i = 0; i < GENERATED; i++) {
      String name = "gen-" + i;
      deps.add(name);
      targets.add(Target.builder(name)
          .command("bash", "-c", "T=" + name + "; " + log
              + "mkdir -p out && tr a-z A-Z < src/" + i + ".txt > out/" + i + ".txt")
          .envPassthrough("PATH").inputs("src/" + i + ".txt").outputs("out/" + i + ".txt")
          .build());
    }
    targets.add(Target.builder("slow")
        .command("bash", "-c", "T=slow; " + log
            + "for i in $(seq 200); do [ -f '" + runs + "/go' ] && break; sleep 0.05; done; "
            + "mkdir -p out && echo slow > out/slow.txt")
        .envPassthrough("PATH").outputs("out/slow.txt").build());
    deps.add("slow");
    targets.add(Target.builder("all")
        .command("bash", "-c", "T=all; " + log + "cat out/*.txt > all.txt")
        .envPassthrough("PATH").dependsOn(deps).outputs("all.txt").build());
    return targets;
  }
}
