package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One rule for a symbolic link inside a declared output directory, for local runs and the Java
 * worker alike (they share {@code internal.cache.FileTrees}): the target fails with the same
 * one-line error naming the link, and nothing is recorded. Local runs used to skip the link
 * silently (so a cache hit restored the directory without it) while workers refused it.
 */
class OutputDirectoryLinkRuleTest {
  private static final long WAIT = 60;
  private static final String EXPECTED =
      "declared output 'out/d' contains a symbolic link, 'out/d/link': outputs must be regular"
          + " files or directories";

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

  private static List<Target> graph(String script, String... requires) {
    return List.of(Target.builder("t").command("sh", "-c", script).envPassthroughUnhashed("PATH")
        .outputs("out/d").requires(requires).build());
  }

  private static final String LINKED = "mkdir -p out/d && printf a > out/d/a.txt"
      + " && ln -s a.txt out/d/link";

  private static TargetOutcome build(BuildNet net) throws Exception {
    return net.build("t").result().get(WAIT, TimeUnit.SECONDS).target("t").orElseThrow();
  }

  private static void assertRefused(TargetOutcome o) {
    assertEquals(Status.FAILED, o.status(), o.toString());
    assertTrue(o.reason().contains(EXPECTED), o.reason());
    assertEquals(1, o.reason().lines().count(), "one line: " + o.reason());
  }

  @Test
  void a_local_run_refuses_a_link_inside_an_output_directory() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("local"));
    BuildNet net = cluster.track(BuildNet.builder().workspace(ws).targets(graph(LINKED)).start());
    assertRefused(build(net));
    assertRefused(build(net)); // nothing was recorded: not a hit the second time either
  }

  @Test
  void a_worker_run_refuses_it_with_the_same_words() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("remote"));
    BuildNet net = cluster.master(BuildNet.builder().workspace(ws).targets(graph(LINKED, "remote"))
        .localSlots(0));
    cluster.connect(net, BuildNet.worker().workerId("w1").cpuSlots(1).memoryMb(256)
        .capabilities(List.of("remote")).workDir(tmp.resolve("work-w1")));
    assertRefused(build(net));
  }

  @Test
  void a_declared_output_that_is_itself_a_link_is_refused_locally_and_on_a_worker()
      throws Exception {
    String script = "mkdir -p out/real && printf a > out/real/a.txt && ln -s real out/d";
    Path ws = Files.createDirectories(tmp.resolve("both"));
    BuildNet local = cluster.track(BuildNet.builder().workspace(ws).targets(graph(script)).start());
    TargetOutcome o = build(local);
    assertEquals(Status.FAILED, o.status(), o.toString());
    assertTrue(o.reason().contains("declared output 'out/d' is a symbolic link"), o.reason());
    local.close();

    Path ws2 = Files.createDirectories(tmp.resolve("both-remote"));
    BuildNet net = cluster.master(BuildNet.builder().workspace(ws2)
        .targets(graph(script, "remote")).localSlots(0));
    cluster.connect(net, BuildNet.worker().workerId("w2").cpuSlots(1).memoryMb(256)
        .capabilities(List.of("remote")).workDir(tmp.resolve("work-w2")));
    TargetOutcome r = build(net);
    assertEquals(Status.FAILED, r.status(), r.toString());
    assertTrue(r.reason().contains("declared output 'out/d' is a symbolic link"), r.reason());
  }

  @Test
  void regular_files_in_an_output_directory_are_still_collected_on_both_sides() throws Exception {
    String script = "mkdir -p out/d/sub && printf a > out/d/a.txt && printf b > out/d/sub/b.txt";
    Path ws = Files.createDirectories(tmp.resolve("plain"));
    BuildNet local = cluster.track(BuildNet.builder().workspace(ws).targets(graph(script)).start());
    assertEquals(Status.BUILT, build(local).status());
    local.close();

    Path ws2 = Files.createDirectories(tmp.resolve("plain-remote"));
    BuildNet net = cluster.master(BuildNet.builder().workspace(ws2)
        .targets(graph(script, "remote")).localSlots(0));
    cluster.connect(net, BuildNet.worker().workerId("w3").cpuSlots(1).memoryMb(256)
        .capabilities(List.of("remote")).workDir(tmp.resolve("work-w3")));
    assertEquals(Status.BUILT, build(net).status());
    assertEquals("b", Files.readString(ws2.resolve("out/d/sub/b.txt")));
  }
}
