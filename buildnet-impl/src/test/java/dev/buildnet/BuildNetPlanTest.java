package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link BuildNet#plan}, {@link BuildNet#build(java.util.Collection, boolean, BuildNet.CacheUse)} and
 * {@link BuildNet#cleanOutputs}: what the CLI's --dry-run, --force and clean stand on. */
class BuildNetPlanTest {
  @TempDir Path ws;

  private List<Target> targets() throws IOException {
    Files.createDirectories(ws.resolve("src"));
    Files.createDirectories(ws.resolve("out"));
    if (!Files.exists(ws.resolve("src/a.txt"))) {
      Files.writeString(ws.resolve("src/a.txt"), "a1");
      Files.writeString(ws.resolve("src/b.txt"), "b1");
    }
    return List.of(
        Target.builder("a").command("cp", "src/a.txt", "out/a.txt").inputs("src/a.txt")
            .outputs("out/a.txt").build(),
        Target.builder("b").command("cp", "src/b.txt", "out/b.txt").inputs("src/b.txt")
            .outputs("out/b.txt").build(),
        Target.builder("c").command("cp", "out/a.txt", "out/c.txt").inputs("out/a.txt")
            .outputs("out/c.txt").dependsOn("a").build(),
        Target.builder("missing").command("true").inputs("src/nope.txt").build(),
        Target.builder("after-missing").command("true").dependsOn("missing").build());
  }

  private BuildNet start() throws IOException {
    return BuildNet.builder().workspace(ws).targets(targets()).localSlots(2).start();
  }

  private static BuildResult join(BuildFuture f) throws Exception {
    return f.get(60, TimeUnit.SECONDS);
  }

  @Test
  void aPlan_runsNothing_andPredictsWhatTheBuildThenDoes() throws Exception {
    try (BuildNet net = start()) {
      List<PlannedTarget> before = net.plan(List.of("c", "b"));
      assertEquals(List.of("a", "b", "c"), before.stream().map(PlannedTarget::target).sorted()
          .toList());
      assertTrue(before.stream().allMatch(PlannedTarget::wouldRun), before.toString());
      assertTrue(before.get(0).reasons().contains("no earlier build of this target is recorded"));
      assertFalse(Files.exists(ws.resolve("out/a.txt")), "the plan ran a target");

      join(net.build(List.of("b", "c"), false));
      Files.writeString(ws.resolve("src/a.txt"), "a2");
      List<PlannedTarget> after = net.plan(List.of("b", "c"));

      PlannedTarget a = find(after, "a");
      assertTrue(a.wouldRun());
      assertTrue(a.reasons().get(0).startsWith("input src/a.txt changed"), a.reasons().toString());
      assertFalse(find(after, "b").wouldRun(), after.toString());
      assertTrue(find(after, "b").reasons().isEmpty());
      assertTrue(find(after, "c").wouldRun(), after.toString());
      assertTrue(find(after, "c").reasons().contains("dependency a would run first"),
          find(after, "c").reasons().toString());
      assertEquals("a1", Files.readString(ws.resolve("out/a.txt")), "the plan ran a target");

      BuildResult r = join(net.build(List.of("b", "c"), false));
      assertEquals(Status.BUILT, r.target("a").orElseThrow().status());
      assertEquals(Status.CACHED, r.target("b").orElseThrow().status());
      assertEquals(find(after, "a").key(), r.target("a").orElseThrow().key());
    }
  }

  @Test
  void aTargetWithAMissingInput_wouldRun_andSoWouldItsDependents_withoutAKey() throws Exception {
    try (BuildNet net = start()) {
      List<PlannedTarget> plan = net.plan(List.of("after-missing"));

      assertNull(find(plan, "missing").key());
      assertTrue(find(plan, "missing").reasons().get(0).contains("src/nope.txt"),
          plan.toString());
      assertTrue(find(plan, "after-missing").wouldRun());
      assertTrue(find(plan, "after-missing").reasons().get(0).contains("missing"), plan.toString());
    }
  }

  @Test
  void force_runsCachedTargetsAgain() throws Exception {
    try (BuildNet net = start()) {
      join(net.build(List.of("a"), false));

      BuildResult again = join(net.build(List.of("a"), false, BuildNet.CacheUse.READ_WRITE));
      BuildResult forced = join(net.build(List.of("a"), false, BuildNet.CacheUse.WRITE_ONLY));

      assertEquals(Status.CACHED, again.target("a").orElseThrow().status());
      assertEquals(Status.BUILT, forced.target("a").orElseThrow().status());
    }
  }

  @Test
  void cacheOff_neitherReadsNorRecords() throws Exception {
    try (BuildNet net = start()) {
      join(net.build(List.of("a"), false));
      Files.writeString(ws.resolve("src/a.txt"), "a2");

      BuildResult off = join(net.build(List.of("a"), false, BuildNet.CacheUse.OFF));
      assertEquals(Status.BUILT, off.target("a").orElseThrow().status());
      assertEquals("a2", Files.readString(ws.resolve("out/a.txt")));
      assertTrue(net.plan(List.of("a")).get(0).wouldRun(), "OFF recorded a result");

      BuildResult normal = join(net.build(List.of("a"), false));
      assertEquals(Status.BUILT, normal.target("a").orElseThrow().status());
      assertFalse(net.plan(List.of("a")).get(0).wouldRun(), "a normal build records its result");
    }
  }

  @Test
  void cleanOutputs_deletesDeclaredOutputsOnly_andTheCacheRestoresThem() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("out/mine.txt"), "not an output");
    try (BuildNet net = start()) {
      join(net.build(List.of("b", "c"), false));

      assertEquals(3, net.cleanOutputs());
      assertFalse(Files.exists(ws.resolve("out/a.txt")));
      assertFalse(Files.exists(ws.resolve("out/c.txt")));
      assertTrue(Files.exists(ws.resolve("out/mine.txt")));
      assertTrue(Files.exists(ws.resolve("src/a.txt")));
      assertEquals(0, net.cleanOutputs());

      BuildResult r = join(net.build(List.of("b", "c"), false));
      assertEquals(3, r.count(Status.CACHED), r.toString());
      assertEquals("a1", Files.readString(ws.resolve("out/c.txt")));
    }
  }

  private static PlannedTarget find(List<PlannedTarget> plan, String name) {
    return plan.stream().filter(p -> p.target().equals(name)).findFirst().orElseThrow();
  }
}
