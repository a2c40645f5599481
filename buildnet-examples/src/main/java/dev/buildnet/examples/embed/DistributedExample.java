package dev.buildnet.examples.embed;


import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.BuildNet;
import dev.buildnet.graph.Target;
import dev.buildnet.client.RemoteBuild;
import dev.buildnet.client.RemoteBuildResult;
import dev.buildnet.client.RemoteClient;
import dev.buildnet.worker.Worker;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;

/**
 * The README's distributed example, runnable: a master embedded in a host, a worker and a client,
 * all in this JVM for the sake of one file (in real use each lives in its own process or machine).
 * The master runs nothing itself ({@code localSlots(0)}); the worker builds the two targets; the
 * client submits the build and prints its events and result.
 *
 * <pre>java -cp buildnet.jar dev.buildnet.examples.embed.DistributedExample [DIR]</pre>
 */
public final class DistributedExample {
  private DistributedExample() {}

  public static void main(String[] args) throws Exception {
    Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("buildnet-example");
    System.exit(run(dir, System.out) ? 0 : 1);
  }

  /** Builds the example in {@code dir}; returns whether the build succeeded. */
  public static boolean run(Path dir, PrintStream out) throws Exception {
    Files.createDirectories(dir.resolve("src"));
    Files.writeString(dir.resolve("src/greeting.txt"), "hello from the worker\n");
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret); // in real use: read from a file both sides can read
    TransportSettings transport = TransportSettings.ofSecret(secret); // one value, shared by all

    List<Target> targets = List.of(
        Target.builder("shout")
            .command("sh", "-c", "mkdir -p out && tr a-z A-Z < src/greeting.txt > out/shout.txt")
            .inputs("src/greeting.txt").outputs("out/shout.txt").requires("text-tools").build(),
        Target.builder("count")
            .command("sh", "-c", "wc -w < out/shout.txt > out/count.txt")
            .outputs("out/count.txt").dependsOn("shout").requires("text-tools").build());

    try (BuildNet master = BuildNet.builder()
            .workspace(dir)
            .targets(targets)
            .listen(new InetSocketAddress("127.0.0.1", 0))  // loopback; port 0 picks a free one
            .transport(transport)
            .localSlots(0)                                  // run nothing here: workers only
            .start()) {
      InetSocketAddress at = master.listenAddress().orElseThrow();
      try (Worker worker = BuildNet.worker()
              .transport(transport)
              .workerId("example-worker")
              .capabilities(List.of("text-tools"))
              .workDir(dir.resolve(".worker"))
              .connect(at.getHostString(), at.getPort());
           RemoteClient client = RemoteClient.builder()
              .address(at.getHostString(), at.getPort()).transport(transport).connect()) {
        worker.awaitConnected(Duration.ofSeconds(30));
        RemoteBuild build = client.newBuild(List.of("count"))
            .onEvent(e -> out.println("  " + describe(e)))
            .submit();
        RemoteBuildResult result = build.result().get();
        out.println("success: " + result.success() + ", executed " + result.executed()
            + ", from cache " + result.cacheHits() + ", outputs " + result.outputs());
        out.println("out/count.txt: "
            + Files.readString(dir.resolve("out/count.txt"), StandardCharsets.UTF_8).trim());
        return result.success();
      }
    }
  }

  /** One event for people: its kind, then its target, status or log line. */
  private static String describe(dev.buildnet.api.build.BuildEvent e) {
    String kind = e.kind().wireName();
    if (e instanceof dev.buildnet.api.build.BuildEvent.TargetStarted s) {
      return kind + " " + s.target();
    } else if (e instanceof dev.buildnet.api.build.BuildEvent.TargetLog l) {
      return kind + " " + l.target() + ": " + l.line();
    } else if (e instanceof dev.buildnet.api.build.BuildEvent.TargetFinished f) {
      return kind + " " + f.target() + " " + f.status().wireName();
    } else if (e instanceof dev.buildnet.api.build.BuildEvent.BuildFinished f) {
      return kind + " " + f.status().wireName();
    }
    return kind;
  }
}
