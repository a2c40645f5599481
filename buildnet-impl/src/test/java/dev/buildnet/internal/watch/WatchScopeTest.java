package dev.buildnet.internal.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The path rules the watcher and the hot file state share: relative paths as the index spells
 * them, and which paths lie in declared outputs (the index's outputs are hashed, not sorted, so
 * prefixes and siblings that sort next to an output must still not count as inside it).
 */
class WatchScopeTest {
  private final Path root = Path.of("/ws/project");

  @Test
  void relative_cutsThePathBelowTheRootOutOfItsString() {
    assertEquals(".", WatchScope.relative(root, root));
    assertEquals("a.txt", WatchScope.relative(root, root.resolve("a.txt")));
    assertEquals("src/deep/a.txt", WatchScope.relative(root, root.resolve("src/deep/a.txt")));
    assertEquals("src", WatchScope.relative(Path.of("/ws/project/"), Path.of("/ws/project/src")));
  }

  @Test
  void relative_belowTheFileSystemRoot() {
    assertEquals("ws/a.txt", WatchScope.relative(Path.of("/"), Path.of("/ws/a.txt")));
    assertEquals(".", WatchScope.relative(Path.of("/"), Path.of("/")));
  }

  @Test
  void relative_aSiblingWhoseNameStartsLikeTheRoot_isNotCutAsIfBelowIt() {
    // "/ws/project2/x" starts with "/ws/project" as text but is not below it.
    assertEquals("../project2/x", WatchScope.relative(root, Path.of("/ws/project2/x")));
    assertEquals("..", WatchScope.relative(root, Path.of("/ws")));
  }

  @Test
  void relative_agreesWithRelativize_forPathsBelowTheRoot() {
    for (String rel : List.of("a", "a/b", "a/b/c.txt", ".hidden/x", "name with space/f")) {
      Path abs = root.resolve(rel);
      assertEquals(root.relativize(abs).toString(), WatchScope.relative(root, abs), rel);
    }
  }

  @Test
  void insideOutput_matchesAnOutputAndWhatLiesBelowIt_only() {
    TargetIndex index = index();
    assertTrue(index.insideOutput("gen"));
    assertTrue(index.insideOutput("gen/g.txt"));
    assertTrue(index.insideOutput("gen/sub/g.txt"));
    assertTrue(index.insideOutput("pkg/dist/out.js"));
    assertFalse(index.insideOutput("generated/x")); // shares a prefix with "gen"
    assertFalse(index.insideOutput("gen2"));
    assertFalse(index.insideOutput("pkg/dist2/out.js"));
    assertFalse(index.insideOutput("pkg"));
    assertFalse(index.insideOutput("src/a.txt"));
    assertFalse(index.insideOutput("."));
  }

  @Test
  void trustedAndSkipped_neverTheStateDirectoryNorAnOutput() {
    TargetIndex index = index();
    assertTrue(WatchScope.skipDirectory(root, index, root.resolve("gen")));
    assertTrue(WatchScope.skipDirectory(root, index, root.resolve("gen/sub")));
    assertTrue(WatchScope.skipDirectory(root, index, root.resolve(".buildnet")));
    assertFalse(WatchScope.skipDirectory(root, index, root.resolve("generated")));
    assertFalse(WatchScope.skipDirectory(root, index, root));
    assertFalse(WatchScope.skipDirectory(root, index, Path.of("/elsewhere/gen")));
  }

  @Test
  void affected_findsTheTargetsAFileConcerns() {
    TargetIndex index = index();
    assertEquals(Set.of("gen", "use"), index.affected("src/a.txt", true));
    assertEquals(Set.of("pkg"), index.affected("pkg/src/x.js", true));
    assertEquals(Set.of(), index.affected("other/x.js", true));
  }

  private static TargetIndex index() {
    BuildGraph graph = BuildGraph.of(List.of(
        Target.builder("gen").command("true").inputs("src/**").outputs("gen").build(),
        Target.builder("use").command("true").inputs("gen/**", "src/**").dependsOn("gen")
            .build(),
        Target.builder("pkg").command("true").inputs("pkg/src/**").outputs("pkg/dist").build()));
    return new TargetIndex(graph, graph);
  }
}
