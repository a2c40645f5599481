package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Harness (not a test): a three-level chain of 50 MB outputs on two in-process workers over
 * loopback, with and without {@link BuildNet.Builder#deferOutputs}. Prints, per placement and
 * mode, the bytes that reached the master's blob store (uploads and fetches; the sources are a few
 * bytes) and the build's wall time, median of {@code args[1]} cold builds (default 3).
 *
 * <pre>
 * java -cp buildnet-impl/target/test-classes:buildnet-impl/target/classes:$CP \
 *     dev.buildnet.DeferredOutputsBench /tmp/bench 3
 * </pre>
 */
public final class DeferredOutputsBench {
  private static final byte[] SECRET = "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);
  private static final long MB50 = 50L * 1000 * 1000;

  private DeferredOutputsBench() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    String[][] placements = {{"one", "one", "two"}, {"one", "two", "one"}, {"any", "any", "any"}};
    System.out.println("placement (a,b,c)   mode      master-store-bytes   wall-ms (median of " + runs + ")");
    for (String[] p : placements) {
      for (boolean defer : new boolean[] {false, true}) {
        List<Long> walls = new ArrayList<>();
        long bytes = -1;
        for (int i = 0; i < runs; i++) {
          Path dir = Files.createDirectories(root.resolve(String.join("-", p) + "-" + defer + "-" + i));
          long[] r = once(dir, p, defer);
          bytes = r[0];
          walls.add(r[1]);
        }
        walls.sort(null);
        System.out.printf("%-19s %-9s %20d %9d%n", String.join(",", p), defer ? "deferred" : "eager",
            bytes, walls.get(walls.size() / 2));
      }
    }
    System.exit(0);
  }

  private static List<Target> chain(String aOn, String bOn, String cOn) {
    return List.of(
        Target.builder("a").command("sh", "-c", "mkdir -p out && head -c " + MB50
                + " /dev/urandom > out/a.bin").outputs("out/a.bin").requires(aOn).build(),
        Target.builder("b").command("sh", "-c", "cat out/a.bin > out/b.bin && echo b >> out/b.bin")
            .outputs("out/b.bin").dependsOn("a").requires(bOn).build(),
        Target.builder("c").command("sh", "-c", "cat out/b.bin > out/c.bin && echo c >> out/c.bin")
            .outputs("out/c.bin").dependsOn("b").requires(cOn).build());
  }

  /** One cold build: {bytes in the master's store, wall ms}. */
  private static long[] once(Path dir, String[] p, boolean defer) throws Exception {
    Path ws = Files.createDirectories(dir.resolve("ws"));
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(chain(p[0], p[1], p[2]))
            .localSlots(0).deferOutputs(defer).listen(new InetSocketAddress("127.0.0.1", 0))
            .transport(TransportSettings.ofSecret(SECRET)).start();
        Worker w1 = worker(net, dir, "w1", "one", "any");
        Worker w2 = worker(net, dir, "w2", "two", "any")) {
      long start = System.nanoTime();
      BuildResult r = net.build("c").get(10, TimeUnit.MINUTES);
      long wall = (System.nanoTime() - start) / 1_000_000;
      if (!r.success()) {
        throw new IllegalStateException("build failed: " + r);
      }
      for (TargetOutcome o : r.targets()) {
        System.err.println("  " + o.target() + ": " + o.reason());
      }
      return new long[] {storeBytes(ws.resolve(".buildnet/cas")), wall};
    }
  }

  private static Worker worker(BuildNet net, Path dir, String id, String... caps) throws Exception {
    InetSocketAddress at = net.master().orElseThrow().localAddress();
    Worker w = BuildNet.worker().transport(TransportSettings.ofSecret(SECRET)).workerId(id).cpuSlots(1).memoryMb(1024)
        .capabilities(List.of(caps)).workDir(dir.resolve("work-" + id))
        .connect(at.getHostString(), at.getPort());
    if (!w.awaitConnected(Duration.ofSeconds(30))) {
      throw new IllegalStateException("worker " + id + " did not connect");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (net.master().orElseThrow().workers().stream().noneMatch(x -> x.id().equals(id))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("worker " + id + " never registered");
      }
      Thread.sleep(10);
    }
    return w;
  }

  private static long storeBytes(Path cas) throws Exception {
    try (Stream<Path> files = Files.walk(cas)) {
      return files.filter(Files::isRegularFile)
          .filter(f -> !cas.relativize(f).startsWith("tmp"))
          .mapToLong(f -> f.toFile().length()).sum();
    }
  }
}
