package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which targets {@code --filter '[REF]'} keeps for a list of changed files. */
class TargetFilterTest {
  private static final BuildGraph GRAPH = BuildGraph.of(List.of(
      Target.builder("lib").command("true").inputs("lib/src/**/*.java").outputs("out/lib").build(),
      Target.builder("docs").command("true").inputs("docs").build(),
      Target.builder("app").command("true").inputs("app/Main.java").dependsOn("lib").build(),
      Target.builder("dist").command("true").dependsOn("app").build()));

  @Test
  void aChangedInput_affectsItsTarget_andEveryDependent() {
    assertEquals(Set.of("lib", "app", "dist"),
        TargetFilter.affected(GRAPH, List.of("lib/src/a/B.java")));
    assertEquals(Set.of("app", "dist"), TargetFilter.affected(GRAPH, List.of("app/Main.java")));
  }

  @Test
  void aDirectoryInput_coversTheFilesBelowIt() {
    assertEquals(Set.of("docs"), TargetFilter.affected(GRAPH, List.of("docs/guide/intro.md")));
    assertTrue(TargetFilter.affected(GRAPH, List.of("docsx/intro.md")).isEmpty());
  }

  @Test
  void filesNoTargetReads_affectNothing_butBuildnetJsonAffectsAll() {
    assertTrue(TargetFilter.affected(GRAPH, List.of("README.md", "lib/src/a/B.kt")).isEmpty());
    assertEquals(4, TargetFilter.affected(GRAPH, List.of("buildnet.json")).size());
  }

  @Test
  void nameGlobs_matchWholeNames() {
    assertTrue(TargetFilter.glob("li*").matcher("lib").matches());
    assertFalse(TargetFilter.glob("li*").matcher("xlib").matches());
    assertTrue(TargetFilter.glob("a?p").matcher("app").matches());
    assertTrue(TargetFilter.glob("lib/**/*.java").matcher("lib/A.java").matches());
  }
}
