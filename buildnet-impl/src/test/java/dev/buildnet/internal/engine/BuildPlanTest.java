package dev.buildnet.internal.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine keeps the plan of the last graph it was given and reuses it only for that very
 * (immutable) build order: a graph with a target added, removed or edited, even under the same
 * names, gets a plan of its own, never the stale one.
 */
class BuildPlanTest {
  private static Target t(String name, String... deps) {
    return Target.builder(name).command("true").dependsOn(deps).build();
  }

  @Test
  void theSameOrder_reusesItsPlan_anyOtherGraphGetsItsOwn() {
    BuildGraph first = BuildGraph.of(List.of(t("a"), t("b", "a"), t("c", "b")));
    BuildPlan plan = BuildPlan.of(first.topologicalOrder(), null);
    assertSame(plan, BuildPlan.of(first.topologicalOrder(), plan));
    assertEquals(List.of("a", "b", "c"), plan.names);

    // Added: d depends on a.
    BuildGraph added = BuildGraph.of(List.of(t("a"), t("b", "a"), t("c", "b"), t("d", "a")));
    BuildPlan next = BuildPlan.of(added.topologicalOrder(), plan);
    assertNotSame(plan, next);
    assertEquals(4, next.names.size());
    int a = next.names.indexOf("a");
    int d = next.names.indexOf("d");
    assertArrayEquals(new int[] {a}, next.dependencies[d]);
    assertEquals(2, next.dependents[a].length, "a's dependents are b and d");

    // Removed: c is gone.
    BuildPlan removed = BuildPlan.of(BuildGraph.of(List.of(t("a"), t("b", "a"))).topologicalOrder(),
        next);
    assertEquals(List.of("a", "b"), removed.names);

    // Edited under the same names: c now depends on a, not b.
    BuildGraph edited = BuildGraph.of(List.of(t("a"), t("b", "a"), t("c", "a")));
    BuildPlan rewired = BuildPlan.of(edited.topologicalOrder(), plan);
    assertNotSame(plan, rewired);
    int ea = rewired.names.indexOf("a");
    int ec = rewired.names.indexOf("c");
    assertArrayEquals(new int[] {ea}, rewired.dependencies[ec]);
    assertEquals(0, rewired.dependents[rewired.names.indexOf("b")].length);
  }

  @Test
  void dependenciesOutsideTheOrder_areListedByName() {
    BuildPlan partial = BuildPlan.of(List.of(t("b", "a"), t("c", "b")));
    assertArrayEquals(new String[] {"a"}, partial.outside[0]);
    assertArrayEquals(new int[] {0}, partial.dependencies[1]);
    assertArrayEquals(new int[0], partial.dependencies[0]);
  }
}
