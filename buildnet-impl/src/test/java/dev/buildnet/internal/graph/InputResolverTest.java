package dev.buildnet.internal.graph;

import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.graph.Target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputResolverTest {
  @TempDir Path workspace;
  @TempDir Path outside;

  @BeforeEach
  void layout() throws IOException {
    write("src/A.java");
    write("src/B.java");
    write("src/a/C.java");
    write("src/a/b/D.java");
    write("src/a/notes.txt");
    write("src/gen/G.java");
    write("srcB.java");
    write("README.md");
    write(".buildnet/cache/X.java");
    write("out/Old.class");
  }

  private void write(String path) throws IOException {
    Path file = workspace.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, path);
  }

  private static Target target(String... inputs) {
    return Target.builder("t").command("true").inputs(inputs).build();
  }

  private List<String> resolve(String... inputs) {
    return new InputResolver(workspace).resolve(target(inputs));
  }

  @Test
  void glob_expandsToSortedRelativePaths_doubleStarMatchingZeroDirectories() {
    assertEquals(
        List.of("src/A.java", "src/B.java", "src/a/C.java", "src/a/b/D.java", "src/gen/G.java"),
        resolve("src/**/*.java"));
  }

  @Test
  void singleStar_doesNotDescend() {
    assertEquals(List.of("src/A.java", "src/B.java"), resolve("src/*.java"));
  }

  @Test
  void exclusions_removeFilesAndWholeDirectories_inAnyOrder() {
    assertEquals(List.of("src/A.java", "src/a/C.java", "src/a/b/D.java"),
        resolve("!src/gen", "src/**/*.java", "!src/B.java"));
    assertEquals(List.of("src/A.java", "src/B.java", "src/gen/G.java"),
        resolve("src/**/*.java", "!**/a"));
    assertEquals(List.of("src/a/notes.txt"), resolve("src/a", "!**/*.java"));
  }

  @Test
  void directoryInput_expandsToEveryFileBelowIt() {
    assertEquals(List.of("src/a/C.java", "src/a/b/D.java", "src/a/notes.txt"), resolve("src/a"));
  }

  @Test
  void wholeWorkspace_neverIncludesStateDirectory() {
    List<String> all = resolve("**");
    assertTrue(all.contains("README.md"));
    assertTrue(all.stream().noneMatch(p -> p.startsWith(".buildnet")), all.toString());
    assertEquals(all, resolve("."));
  }

  @Test
  void missingPlainInput_namesTargetAndPath() {
    InvalidGraphException e = assertMissingInput(() -> resolve("src/Missing.java"));
    assertEquals("t", e.target());
    assertEquals("src/Missing.java", e.input());
    assertTrue(e.getMessage().startsWith("target 't': input 'src/Missing.java' does not exist"),
        e.getMessage());
  }

  @Test
  void globMatchingNothing_isEmpty() {
    assertEquals(List.of(), resolve("src/**/*.kt"));
    assertEquals(List.of(), resolve("nowhere/**/*.kt"));
  }

  @Test
  void ownOutputs_areNotInputs() {
    Target t = Target.builder("t").command("true").inputs("**/*.class", "src/A.java")
        .outputs("out").build();
    assertEquals(List.of("src/A.java"), new InputResolver(workspace).resolve(t));
  }

  @Test
  void linksLeadingOutside_areSkippedWhenWalked_andRejectedWhenNamed() throws IOException {
    Files.writeString(outside.resolve("secret.java"), "secret");
    Files.createSymbolicLink(workspace.resolve("src/Leak.java"), outside.resolve("secret.java"));
    Files.createSymbolicLink(workspace.resolve("src/linkdir"), outside);
    Files.createSymbolicLink(workspace.resolve("src/Inside.java"), workspace.resolve("README.md"));

    List<String> files = resolve("src/**/*.java");
    assertTrue(files.contains("src/Inside.java"), files.toString());
    assertTrue(files.stream().noneMatch(p -> p.contains("Leak") || p.contains("linkdir")),
        files.toString());
    InvalidGraphException e = assertMissingInput(() -> resolve("src/Leak.java"));
    assertTrue(e.getMessage().contains("outside the workspace"), e.getMessage());
    assertMissingInput(() -> resolve("src/linkdir"));
    assertEquals(List.of(), resolve("src/linkdir/**"));
  }

  @Test
  void listing_isReusedFromAnAncestor_withTheSameResultAsAFreshWalk() throws IOException {
    InputResolver shared = new InputResolver(workspace);
    List<String> viaRoot = shared.resolve(target("**/*.txt", "src/a/**/*.java"));
    List<String> fresh = new InputResolver(workspace).resolve(target("src/a/**/*.java"));
    assertEquals(List.of("src/a/C.java", "src/a/b/D.java"), fresh);
    assertTrue(viaRoot.containsAll(fresh));
    // The listing is a snapshot: a file added later is seen only by a new resolver.
    write("src/a/New.java");
    assertEquals(fresh, shared.resolve(target("src/a/**/*.java")));
    assertEquals(3, new InputResolver(workspace).resolve(target("src/a/**/*.java")).size());
  }

  @Test
  void workspaceRoot_mustBeADirectory() {
    assertThrows(IllegalArgumentException.class,
        () -> new InputResolver(workspace.resolve("README.md")));
  }

  private static InvalidGraphException assertMissingInput(
      org.junit.jupiter.api.function.Executable call) {
    InvalidGraphException e = assertThrows(InvalidGraphException.class, call);
    assertEquals(InvalidGraphException.Reason.MISSING_INPUT, e.reason(), e.getMessage());
    return e;
  }
}
