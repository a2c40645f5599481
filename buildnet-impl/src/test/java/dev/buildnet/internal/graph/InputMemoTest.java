package dev.buildnet.internal.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.hash.DirectoryListings;
import dev.buildnet.internal.hash.FileDigestCache;
import dev.buildnet.internal.hash.Hashing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link InputMemo} hands back a target's last inputs (the same list) when no listing that decided
 * them changed, and resolves afresh on every change that could alter them. Each build is a new
 * {@link InputResolver} over listings that outlive it, as in the engine.
 */
class InputMemoTest {
  @TempDir Path ws;
  @TempDir Path outside;
  private DirectoryListings listings;
  private final InputMemo memo = new InputMemo();

  @BeforeEach
  void layout() throws IOException {
    write("src/A.java");
    write("src/a/B.java");
    write("src/a/b/C.java");
    write("src/notes.txt");
    // An hour ahead: nothing the test wrote is racy, so every listing is remembered.
    listings = FileDigestCache.builder(Hashing.xxh64())
        .clock(Clock.offset(Clock.systemUTC(), Duration.ofHours(1))).build().directories();
  }

  private void write(String path) throws IOException {
    Path file = ws.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, path);
  }

  private static Target target(String... inputs) {
    return Target.builder("t").command("true").inputs(inputs).build();
  }

  /** One build's resolution of {@code t}. */
  private List<String> build(Target t) {
    return memo.resolve(t, new InputResolver(ws, listings));
  }

  @Test
  void nothingChanged_theLastInputsAreReused_withoutListingADirectory() {
    Target t = target("src/**/*.java", "src/notes.txt");
    List<String> first = build(t);
    long listed = listings.directoriesListed();
    assertSame(first, build(t));
    assertEquals(listed, listings.directoriesListed());
    assertEquals(new InputResolver(ws, listings).resolve(t), first);
  }

  @Test
  void aFileAddedToAGlobbedDirectory_isAnInputAtTheNextBuild() throws IOException {
    Target t = target("src/**/*.java");
    build(t);
    write("src/a/b/New.java");
    assertEquals(List.of("src/A.java", "src/a/B.java", "src/a/b/C.java", "src/a/b/New.java"),
        build(t));
  }

  @Test
  void aFileAddedBelowAGlobsMissingBase_isAnInputAtTheNextBuild() throws IOException {
    Target t = target("gen/**/*.java");
    assertEquals(List.of(), build(t));
    write("gen/x/G.java");
    assertEquals(List.of("gen/x/G.java"), build(t));
  }

  @Test
  void aDeletedFile_leavesTheGlob_andAPlainInputNamingItIsMissing() throws IOException {
    Target glob = target("src/**/*.java");
    Target plain = target("src/a/B.java");
    build(glob);
    Target other = Target.builder("p").command("true").inputs("src/a/B.java").build();
    assertEquals(List.of("src/a/B.java"), memo.resolve(other, new InputResolver(ws, listings)));
    Files.delete(ws.resolve("src/a/B.java"));
    assertEquals(List.of("src/A.java", "src/a/b/C.java"), build(glob));
    assertMissingInput(() -> memo.resolve(other, new InputResolver(ws, listings)));
    assertMissingInput(() -> build(plain));
  }

  @Test
  void aRenamedDirectory_takesItsFilesOutOfTheGlob_andAPlainDirectoryInputIsMissing()
      throws IOException {
    Target glob = target("src/a/**");
    Target plain = Target.builder("p").command("true").inputs("src/a").build();
    assertEquals(List.of("src/a/B.java", "src/a/b/C.java"), build(glob));
    assertEquals(List.of("src/a/B.java", "src/a/b/C.java"),
        memo.resolve(plain, new InputResolver(ws, listings)));
    Files.move(ws.resolve("src/a"), ws.resolve("src/z"));
    assertEquals(List.of(), build(glob));
    assertMissingInput(() -> memo.resolve(plain, new InputResolver(ws, listings)));
  }

  @Test
  void aDirectoryRenamedDeepBelowTheGlobsBase_changesItsFiles() throws IOException {
    Target t = target("src/**/*.java");
    build(t);
    Files.move(ws.resolve("src/a/b"), ws.resolve("src/a/c"));
    assertEquals(List.of("src/A.java", "src/a/B.java", "src/a/c/C.java"), build(t));
  }

  @Test
  void aFileSwappedForALinkOutsideTheWorkspace_leavesTheGlob_andAPlainInputIsMissing()
      throws IOException {
    Target glob = target("src/*.java");
    Target plain = Target.builder("p").command("true").inputs("src/A.java").build();
    assertEquals(List.of("src/A.java"), build(glob));
    memo.resolve(plain, new InputResolver(ws, listings));
    Path real = Files.writeString(outside.resolve("A.java"), "elsewhere");
    Files.delete(ws.resolve("src/A.java"));
    Files.createSymbolicLink(ws.resolve("src/A.java"), real);
    assertEquals(List.of(), build(glob));
    assertMissingInput(() -> memo.resolve(plain, new InputResolver(ws, listings)));
  }

  @Test
  void aGlobOverALink_seesWhereTheLinkLeadsNow_thoughItsDirectoryIsUnchanged()
      throws IOException {
    write("other/f.java");
    Files.createSymbolicLink(ws.resolve("src/a/L.java"), Path.of("../../other/f.java"));
    Target t = target("src/a/*.java");
    assertEquals(List.of("src/a/B.java", "src/a/L.java"), build(t));
    Files.delete(ws.resolve("other/f.java")); // src/a's listing is untouched: L now dangles
    assertEquals(List.of("src/a/B.java"), build(t));
  }

  @Test
  void aPlainInputThroughALinkedDirectory_isCheckedAgain_whenTheLinkedDirectoryLeavesTheWorkspace()
      throws IOException {
    write("deep/real/x.txt");
    Files.createSymbolicLink(ws.resolve("lib"), Path.of("deep/real"));
    Target t = target("lib/x.txt");
    assertEquals(List.of("lib/x.txt"), build(t));
    // Neither the root's nor lib's entry changes; only where deep/real leads does.
    Files.move(ws.resolve("deep/real"), outside.resolve("real"));
    Files.createSymbolicLink(ws.resolve("deep/real"), outside.resolve("real"));
    assertMissingInput(() -> build(t));
  }

  @Test
  void aChangedTarget_isResolvedForItsOwnInputs() {
    build(target("src/*.java"));
    assertEquals(List.of("src/notes.txt"), build(target("src/*.txt")));
  }

  @Test
  void listingsChangedWithinTheRacyWindow_areNotTrusted_soTheInputsAreResolvedAgain() {
    listings = FileDigestCache.builder(Hashing.xxh64()).build().directories(); // system clock
    Target t = target("src/**/*.java");
    List<String> first = build(t);
    assertNotSame(first, build(t));
    assertEquals(first, build(t));
  }

  private static void assertMissingInput(org.junit.jupiter.api.function.Executable call) {
    InvalidGraphException e = assertThrows(InvalidGraphException.class, call);
    assertEquals(InvalidGraphException.Reason.MISSING_INPUT, e.reason(), e.getMessage());
  }
}
