package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Early cutoff across sites: the digest of a dependency's outputs is the same whether it ran on
 * this machine, ran on a worker, or kept its outputs on that worker (deferred), so a dependent
 * recorded by one is a hit for the others.
 */
class EarlyCutoffRemoteTest {
  private static final long WAIT = 60;

  @TempDir Path tmp;
  private MasterWorkers cluster;
  private Path ws;

  @BeforeEach
  void setUp() throws IOException {
    cluster = new MasterWorkers(tmp, WAIT);
    ws = tmp.resolve("ws");
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "alpha\nbeta\n");
  }

  @AfterEach
  void closeAll() throws Exception {
    cluster.close();
  }

  /**
   * a drops comments and blank lines from its input and counts its runs in a file outside every
   * sandbox; b and c read their dependency's output from the sandbox (no input globs over it).
   */
  private List<Target> chain() {
    return List.of(
        Target.builder("a").command("sh", "-c", "mkdir -p out && sed -e 's/#.*//'"
                + " -e 's/[[:space:]]*$//' -e '/^$/d' src/a.txt > out/a.txt && echo a >> \"$0\"",
                tmp.resolve("runs").toString())
            .inputs("src/a.txt").outputs("out/a.txt").build(),
        Target.builder("b").command("sh", "-c", "mkdir -p out && tr a-z A-Z < out/a.txt > out/b.txt"
                + " && echo b >> \"$0\"", tmp.resolve("runs").toString())
            .outputs("out/b.txt").dependsOn("a").build(),
        Target.builder("c").command("sh", "-c", "mkdir -p out && cat out/b.txt out/b.txt >"
                + " out/c.txt && echo c >> \"$0\"", tmp.resolve("runs").toString())
            .outputs("out/c.txt").dependsOn("b").build());
  }

  private List<String> runs() throws IOException {
    Path log = tmp.resolve("runs");
    List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
    Files.deleteIfExists(log);
    return lines;
  }

  private static BuildResult build(BuildNet net, String target) throws Exception {
    BuildResult r = net.build(target).get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.errors().toString());
    return r;
  }

  private static Status status(BuildResult r, String target) {
    return r.target(target).map(TargetOutcome::status).orElseThrow();
  }

  @Test
  void aDependencyThatRanLocally_andOneThatRanOnAWorker_giveTheSameOutputDigest()
      throws Exception {
    try (BuildNet local = BuildNet.builder().workspace(ws).targets(chain()).start()) {
      build(local, "c");
    }
    assertEquals(List.of("a", "b", "c"), runs());

    // Now only a worker can run anything: a re-runs there after a comment-only edit, and b and c,
    // recorded by the local run, are hits.
    BuildNet master = cluster.master(BuildNet.builder().workspace(ws).targets(chain())
        .localSlots(0));
    cluster.worker(master, "w1");
    Files.writeString(ws.resolve("src/a.txt"), "# a comment\nalpha\n\nbeta\n");
    BuildResult r = build(master, "c");

    assertEquals(List.of("a"), runs());
    assertTrue(r.target("a").orElseThrow().reason().contains("worker 'w1'"),
        r.target("a").orElseThrow().reason());
    assertEquals(Status.CACHED, status(r, "b"));
    assertEquals(Status.CACHED, status(r, "c"));
    assertEquals("ALPHA\nBETA\nALPHA\nBETA\n", Files.readString(ws.resolve("out/c.txt")));
    assertEquals(List.of("dependency a re-ran but its outputs are unchanged"),
        master.explain("b").reasons());
  }

  @Test
  void aDependencyWhoseWorkerKeptItsOutputs_isKeyedByThemToo() throws Exception {
    BuildNet master = cluster.master(BuildNet.builder().workspace(ws).targets(chain())
        .localSlots(0).deferOutputs(true));
    cluster.worker(master, "w1");
    build(master, "c");
    assertEquals(List.of("a", "b", "c"), runs());

    Files.writeString(ws.resolve("src/a.txt"), "alpha # trailing comment\nbeta\n");
    BuildResult edited = build(master, "c");

    assertEquals(List.of("a"), runs(), "b and c hit although a ran again and kept its outputs: "
        + master.explain("b"));
    assertEquals(Status.CACHED, status(edited, "b"));
    assertEquals(Status.CACHED, status(edited, "c"));
    assertEquals("ALPHA\nBETA\nALPHA\nBETA\n", Files.readString(ws.resolve("out/c.txt")));

    Files.writeString(ws.resolve("src/a.txt"), "alpha\ngamma\n");
    BuildResult changed = build(master, "c");
    assertEquals(List.of("a", "b", "c"), runs(), "changed outputs run every dependent again");
    assertEquals(3, changed.count(Status.BUILT));
    assertEquals("ALPHA\nGAMMA\nALPHA\nGAMMA\n", Files.readString(ws.resolve("out/c.txt")));
  }
}
