package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deferred outputs across a restart of the master: which worker keeps which outputs is in the
 * master's state backend (the workspace's SQLite file on disk), so a second master on the same
 * workspace serves them as hits from a worker that reconnects, and runs again (saying why) a
 * target whose worker never comes back.
 */
class DeferredOutputsRestartTest {
  private static final long WAIT = 60;

  @TempDir Path tmp;
  private MasterWorkers cluster;

  @BeforeEach
  void setUp() {
    cluster = new MasterWorkers(tmp, WAIT);
  }

  @AfterEach
  void closeAll() throws Exception {
    cluster.close();
  }

  /** a -> b; a counts its runs in a file outside every sandbox; b reads a's output. */
  private List<Target> chain() {
    return List.of(
        Target.builder("a").command("sh", "-c", "mkdir -p out && tr a-z A-Z < src/in.txt > out/a.txt"
                + " && echo run >> \"$0\"", tmp.resolve("a-runs").toString())
            .inputs("src/in.txt").outputs("out/a.txt").requires("one").build(),
        Target.builder("b").command("sh", "-c", "cat out/a.txt > out/b.txt && echo b >> out/b.txt")
            .outputs("out/b.txt").dependsOn("a").requires("one").build());
  }

  private Path workspace() throws IOException {
    Path ws = tmp.resolve("ws");
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/in.txt"), "hello\n");
    return ws;
  }

  /** A deferring master on {@code ws} (its default state: .buildnet/state.db) at {@code port}. */
  private BuildNet master(Path ws, int port) {
    return BuildNet.builder().workspace(ws).targets(chain()).localSlots(0).deferOutputs(true)
        .listen(new InetSocketAddress("127.0.0.1", port))
        .transport(TransportSettings.ofSecret(MasterWorkers.SECRET)).start();
  }

  private Worker worker(BuildNet net, String id) throws InterruptedException {
    return cluster.connect(net, BuildNet.worker().workerId(id).cpuSlots(2).memoryMb(1024)
        .capabilities(List.of("one")).workDir(tmp.resolve("work-" + id))
        .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(200)));
  }

  private static TargetOutcome outcome(BuildResult r, String target) {
    return r.targets().stream().filter(t -> t.target().equals(target)).findFirst().orElseThrow();
  }

  private static boolean inMasterStore(Path ws, Digest d) throws IOException {
    try (Stream<Path> files = Files.walk(ws.resolve(".buildnet/cas"))) {
      return files.anyMatch(p -> p.getFileName().toString().equals(d.hex()));
    }
  }

  private int aRuns() throws IOException {
    return Files.readAllLines(tmp.resolve("a-runs")).size();
  }

  @Test
  void outputsKeptOnAWorkerThatReconnectsAreHitsAfterARestartAndFetchedWhenRequested()
      throws Exception {
    Path ws = workspace();
    BuildNet first = master(ws, 0);
    int port = first.master().orElseThrow().localAddress().getPort();
    worker(first, "w1");
    BuildResult r = first.build("b").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    Digest a = outcome(r, "a").artifacts().get(0).digest();
    assertFalse(inMasterStore(ws, a), "a's output stayed on w1");
    first.close(); // the worker loses its master and keeps trying to reconnect

    BuildNet second = cluster.track(master(ws, port));
    cluster.awaitRegistered(second, "w1");
    // Nothing changed: b is an ordinary hit, a one whose output is still on w1.
    BuildResult again = second.build("b").get(WAIT, TimeUnit.SECONDS);
    assertTrue(again.success(), again.toString());
    assertEquals(Status.CACHED, outcome(again, "a").status(), again.toString());
    assertTrue(outcome(again, "a").reason().contains("stay on worker 'w1'"), again.toString());
    assertEquals(Status.CACHED, outcome(again, "b").status(), again.toString());
    assertFalse(inMasterStore(ws, a));

    // Requested now: fetched from w1 into the master's store and workspace, not run again.
    BuildResult fetched = second.build("a").get(WAIT, TimeUnit.SECONDS);
    assertTrue(fetched.success(), fetched.toString());
    assertEquals(Status.CACHED, outcome(fetched, "a").status(), fetched.toString());
    assertEquals(1, aRuns());
    assertTrue(inMasterStore(ws, a));
    assertEquals("HELLO\n", Files.readString(ws.resolve("out/a.txt")));
  }

  @Test
  void aTargetWhoseKeepingWorkerNeverReturnsAfterARestartRunsAgainAndSaysWhy() throws Exception {
    Path ws = workspace();
    BuildNet first = master(ws, 0);
    Worker gone = worker(first, "w1");
    BuildResult r = first.build("b").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    gone.close();
    first.close();

    BuildNet second = cluster.track(master(ws, 0));
    worker(second, "w2");
    BuildResult again = second.build("a").get(WAIT, TimeUnit.SECONDS);
    assertTrue(again.success(), again.toString());
    TargetOutcome a = outcome(again, "a");
    assertEquals(Status.BUILT, a.status(), again.toString());
    assertTrue(a.reason().contains("ran again because its outputs were kept on worker 'w1'"
        + " (recorded before this master started), which is not connected"), a.reason());
    assertEquals(2, aRuns());
    assertEquals("HELLO\n", Files.readString(ws.resolve("out/a.txt")));

    // The record of the lost worker is gone: the re-run is an ordinary hit from now on.
    BuildResult third = second.build("a").get(WAIT, TimeUnit.SECONDS);
    assertEquals(Status.CACHED, outcome(third, "a").status(), third.toString());
    assertEquals(2, aRuns());
  }

  @Test
  void aWorkerThatReturnsUnderTheSameIdWithoutTheKeptBlobsIsNotTrustedAfterARestart()
      throws Exception {
    Path ws = workspace();
    BuildNet first = master(ws, 0);
    Worker old = worker(first, "w1");
    BuildResult r = first.build("b").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    old.close();
    first.close();

    BuildNet second = cluster.track(master(ws, 0));
    // A new worker process with the same id and an empty store.
    cluster.connect(second, BuildNet.worker().workerId("w1").cpuSlots(2).memoryMb(1024)
        .capabilities(List.of("one")).workDir(tmp.resolve("work-w1-new")));
    BuildResult again = second.build("b").get(WAIT, TimeUnit.SECONDS);
    assertTrue(again.success(), again.toString());
    TargetOutcome a = outcome(again, "a");
    assertEquals(Status.BUILT, a.status(), again.toString());
    assertTrue(a.reason().contains("ran again because its outputs were kept on worker 'w1'"
        + " (recorded before this master started), which no longer holds them"), a.reason());
    assertEquals(2, aRuns());
  }
}
