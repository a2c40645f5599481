package dev.buildnet.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class BuildGraphTest {

  private static Target t(String name, String... deps) {
    return Target.builder(name).command("echo", name).dependsOn(deps).build();
  }

  private static Target withOutputs(String name, String... outputs) {
    return Target.builder(name).command("echo", name).outputs(outputs).build();
  }

  private static List<String> names(List<Target> targets) {
    return targets.stream().map(Target::name).toList();
  }

  @Test
  void missingDependency_namesTargetAndDependency_andSuggests() {
    InvalidGraphException e = assertInvalid(
        () -> BuildGraph.of(List.of(t("app", "libb"), t("lib"))));
    assertEquals(
        List.of("target 'app' depends on 'libb', which is not defined (did you mean 'lib'?)"),
        e.problems());
    assertTrue(e.getMessage().contains("1 problem"));
  }

  @Test
  void duplicateNames_areReported() {
    InvalidGraphException e = assertInvalid(
        () -> BuildGraph.of(List.of(t("a"), t("a"), t("b"))));
    assertEquals(List.of("duplicate target name 'a' (declared 2 times)"), e.problems());
  }

  @Test
  void cycle_isNamedByItsPath() {
    InvalidGraphException e = assertInvalid(
        () -> BuildGraph.of(List.of(t("a", "b"), t("b", "c"), t("c", "a"), t("d", "a"))));
    assertEquals(List.of("dependency cycle: a -> b -> c -> a"), e.problems());
  }

  @Test
  void everyProblem_isReportedAtOnce() {
    InvalidGraphException e = assertInvalid(() -> BuildGraph.of(List.of(
        t("a", "b"), t("b", "a"),
        t("x", "y"), t("y", "x"),
        t("m", "nowhere"),
        withOutputs("o1", "dist"), withOutputs("o2", "dist"))));
    assertEquals(List.of(
        "target 'm' depends on 'nowhere', which is not defined",
        "targets 'o1' and 'o2' both declare output 'dist'",
        "dependency cycle: a -> b -> a",
        "dependency cycle: x -> y -> x"), e.problems());
  }

  @Test
  void sameOutput_namesBothTargets() {
    InvalidGraphException e = assertInvalid(
        () -> BuildGraph.of(List.of(withOutputs("a", "out/x.jar"), withOutputs("b", "out/x.jar"))));
    assertEquals(List.of("targets 'a' and 'b' both declare output 'out/x.jar'"), e.problems());
  }

  @Test
  void nestedOutputsOfDifferentTargets_areReported() {
    InvalidGraphException e = assertInvalid(
        () -> BuildGraph.of(List.of(withOutputs("a", "dist"), withOutputs("b", "dist/b.js"))));
    assertEquals(List.of("output 'dist/b.js' of target 'b' is inside output 'dist' of target 'a'"),
        e.problems());
    BuildGraph.of(List.of(withOutputs("a", "dist"), withOutputs("b", "dist2/b.js")));
  }

  @Test
  void topologicalOrder_putsDependenciesFirst_tiesByName() {
    BuildGraph g = BuildGraph.of(List.of(
        t("app", "lib", "util"), t("util", "base"), t("lib", "base"), t("base"), t("docs")));
    assertEquals(List.of("base", "docs", "lib", "util", "app"), names(g.topologicalOrder()));
  }

  @Test
  void dependenciesAndDependents_areDirectOnly() {
    BuildGraph g = BuildGraph.of(List.of(t("app", "lib"), t("lib", "base"), t("base"),
        t("test", "lib")));
    assertEquals(List.of("lib"), names(g.dependenciesOf("app")));
    assertEquals(List.of("app", "test"), names(g.dependentsOf("lib")));
    assertEquals(List.of(), names(g.dependentsOf("app")));
    assertUnknownTarget(() -> g.dependentsOf("nope"));
  }

  @Test
  void subgraphFor_isExactlyRequestedAndTransitiveDependencies() {
    BuildGraph g = BuildGraph.of(List.of(t("app", "lib"), t("lib", "base"), t("base"),
        t("test", "lib"), t("docs"), t("tool", "base")));
    BuildGraph sub = g.subgraphFor(List.of("app", "docs"));
    assertEquals(Set.of("app", "lib", "base", "docs"), sub.names());
    assertEquals(List.of("base", "docs", "lib", "app"), names(sub.topologicalOrder()));
    assertEquals(List.of("app"), names(sub.dependentsOf("lib")));
    assertEquals(0, g.subgraphFor(List.of()).size());
  }

  @Test
  void subgraphFor_theSameRequestAgain_isTheSameSubgraph_andANewGraphComputesItsOwn() {
    List<Target> targets = List.of(t("app", "lib"), t("lib", "base"), t("base"), t("docs"));
    BuildGraph g = BuildGraph.of(targets);
    BuildGraph sub = g.subgraphFor(List.of("app", "docs"));
    assertSame(sub, g.subgraphFor(List.of("docs", "app", "docs")), "the order does not matter");
    assertSame(g, g.subgraphFor(List.of("app", "docs", "base")), "every target: the graph itself");
    assertEquals(Set.of("lib", "base"), g.subgraphFor(List.of("lib")).names());

    BuildGraph reloaded = BuildGraph.of(List.of(t("app", "lib"), t("lib"), t("base"), t("docs")));
    BuildGraph again = reloaded.subgraphFor(List.of("app", "docs"));
    assertNotSame(sub, again);
    assertEquals(Set.of("app", "lib", "docs"), again.names(), "the reloaded graph's closure");
    assertUnknownTarget(() -> g.subgraphFor(List.of("app", "nope")));
    assertUnknownTarget(() -> g.subgraphFor(List.of("app", "nope")));
    assertUnknownTarget(() -> g.subgraphFor(java.util.Arrays.asList("app", null)));
  }

  @Test
  void subgraphFor_unknownNames_areAllListedWithSuggestions() {
    BuildGraph g = BuildGraph.of(List.of(t("app:compile"), t("lib")));
    InvalidGraphException e = assertUnknownTarget(
        () -> g.subgraphFor(List.of("app:compil", "lib", "zzz")));
    assertEquals(List.of("app:compil", "zzz"), e.unknownNames());
    assertTrue(e.getMessage().contains("'app:compil' (did you mean 'app:compile'?)"),
        e.getMessage());
  }

  @Test
  void subgraphFor_anUnknownName_countsTheGraphsTargetsInGoodEnglish() {
    assertTrue(assertUnknownTarget(() -> BuildGraph.of(List.of(t("lib"))).subgraphFor(
        List.of("nope"))).getMessage().endsWith("(the graph has 1 target)"));
    assertTrue(assertUnknownTarget(() -> BuildGraph.of(List.of(t("lib"), t("app"))).subgraphFor(
        List.of("nope"))).getMessage().endsWith("(the graph has 2 targets)"));
  }

  @Test
  void longChain_validatesWithoutStackOverflow() {
    int n = 10_000;
    List<Target> targets = new ArrayList<>();
    for (int i = n - 1; i >= 0; i--) {
      targets.add(i == 0 ? t("t0") : t("t" + i, "t" + (i - 1)));
    }
    BuildGraph g = BuildGraph.of(targets);
    assertEquals("t0", g.topologicalOrder().get(0).name());
    assertEquals("t" + (n - 1), g.topologicalOrder().get(n - 1).name());
    assertEquals(n, g.subgraphFor(List.of("t" + (n - 1))).size());
  }

  @Test
  void longCycle_isFoundWithoutStackOverflow() {
    int n = 10_000;
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      targets.add(t("t" + i, "t" + ((i + 1) % n)));
    }
    InvalidGraphException e =
        assertInvalid(() -> BuildGraph.of(targets));
    assertEquals(1, e.problems().size());
    String cycle = e.problems().get(0);
    assertTrue(cycle.startsWith("dependency cycle: t0 -> t1 -> t2 -> "), cycle);
    assertTrue(cycle.endsWith("-> t9999 -> t0"), cycle);
  }

  @Test
  void randomLargeDag_ordersEveryEdge() {
    Random random = new Random(42);
    int n = 10_000;
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      TreeSet<String> deps = new TreeSet<>();
      for (int k = 0; k < 3 && i > 0; k++) {
        deps.add("n" + random.nextInt(i));
      }
      targets.add(t("n" + i, deps.toArray(new String[0])));
    }
    BuildGraph g = BuildGraph.of(targets);
    Map<String, Integer> position = new HashMap<>();
    List<Target> order = g.topologicalOrder();
    for (int i = 0; i < order.size(); i++) {
      position.put(order.get(i).name(), i);
    }
    assertEquals(n, position.size());
    for (Target target : g.targets()) {
      for (String dep : target.dependencies()) {
        assertTrue(position.get(dep) < position.get(target.name()), dep + " before " + target);
      }
    }
  }

  @Test
  void get_unknownName_suggestsCloseMatch() {
    BuildGraph g = BuildGraph.of(List.of(t("compile")));
    InvalidGraphException e = assertUnknownTarget(() -> g.get("compil"));
    assertTrue(e.getMessage().contains("did you mean 'compile'"), e.getMessage());
  }

  @Test
  void emptyGraph_isValid() {
    assertEquals(0, BuildGraph.of(List.of()).size());
  }

  private static InvalidGraphException assertUnknownTarget(
      org.junit.jupiter.api.function.Executable call) {
    InvalidGraphException e = assertThrows(InvalidGraphException.class, call);
    assertEquals(InvalidGraphException.Reason.UNKNOWN_TARGET, e.reason(), e.getMessage());
    return e;
  }

  private static InvalidGraphException assertInvalid(
      org.junit.jupiter.api.function.Executable call) {
    InvalidGraphException e = assertThrows(InvalidGraphException.class, call);
    assertEquals(InvalidGraphException.Reason.INVALID, e.reason(), e.getMessage());
    return e;
  }
}
