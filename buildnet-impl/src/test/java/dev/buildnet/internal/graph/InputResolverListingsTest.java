package dev.buildnet.internal.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * {@link InputResolver} over {@link DirectoryListings} that outlive it, as they do across builds:
 * an unchanged directory is not listed again, and every change that matters is seen.
 */
class InputResolverListingsTest {
  @TempDir Path workspace;
  private DirectoryListings listings;

  @BeforeEach
  void layout() throws IOException {
    write("src/A.java");
    write("src/a/B.java");
    write("src/a/b/C.java");
    write("src/notes.txt");
    // An hour ahead: nothing the test wrote is racy (FileDigestCache's racy rule).
    listings = FileDigestCache.builder(Hashing.xxh64())
        .clock(Clock.offset(Clock.systemUTC(), Duration.ofHours(1))).build().directories();
  }

  private void write(String path) throws IOException {
    Path file = workspace.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, path);
  }

  /** A build: a new resolver each time, over the same listings. */
  private List<String> resolve(String... inputs) {
    return new InputResolver(workspace, listings)
        .resolve(Target.builder("t").command("true").inputs(inputs).build());
  }

  @Test
  void unchangedDirectories_areNotListedAgain_andGiveTheSameFiles() {
    List<String> first = resolve("src/**/*.java");
    assertEquals(List.of("src/A.java", "src/a/B.java", "src/a/b/C.java"), first);
    long listed = listings.directoriesListed();
    assertEquals(3, listed);
    assertEquals(first, resolve("src/**/*.java"));
    assertEquals(listed, listings.directoriesListed());
  }

  @Test
  void aNewFileInACachedDirectory_isPickedUp_andOnlyThatDirectoryIsListed() throws IOException {
    resolve("src/**/*.java");
    long listed = listings.directoriesListed();
    write("src/a/b/New.java");
    assertEquals(List.of("src/A.java", "src/a/B.java", "src/a/b/C.java", "src/a/b/New.java"),
        resolve("src/**/*.java"));
    assertEquals(listed + 1, listings.directoriesListed());
  }

  @Test
  void aDeletedFile_isGone_andAPlainInputNamingItIsMissing() throws IOException {
    assertEquals(List.of("src/a/B.java"), resolve("src/a/B.java"));
    resolve("src/**");
    Files.delete(workspace.resolve("src/a/B.java"));
    assertEquals(List.of("src/A.java", "src/a/b/C.java", "src/notes.txt"), resolve("src/**"));
    assertMissingInput(() -> resolve("src/a/B.java"));
  }

  @Test
  void aFileReplacedByADirectory_isWalkedAsOne() throws IOException {
    resolve("src/**");
    Files.delete(workspace.resolve("src/notes.txt"));
    write("src/notes.txt/inside.txt");
    assertEquals(List.of("src/A.java", "src/a/B.java", "src/a/b/C.java",
        "src/notes.txt/inside.txt"), resolve("src/**"));
    assertEquals(List.of("src/notes.txt/inside.txt"), resolve("src/notes.txt"));
  }

  @Test
  void aRacyDirectory_isListedByEveryBuild() throws IOException {
    // The clock at the directories' own last change: a create in the same tick would keep their
    // stat, so no listing may be remembered.
    Path src = workspace.resolve("src");
    java.nio.file.attribute.FileTime ctime =
        (java.nio.file.attribute.FileTime) Files.getAttribute(src, "unix:ctime");
    listings = FileDigestCache.builder(Hashing.xxh64())
        .clock(Clock.fixed(ctime.toInstant(), java.time.ZoneOffset.UTC)).build().directories();
    resolve("src/*.java");
    long listed = listings.directoriesListed();
    resolve("src/*.java");
    assertEquals(2 * listed, listings.directoriesListed());
  }

  @Test
  void plainInputs_areFoundInTheirDirectoryListing() throws IOException {
    assertEquals(List.of("src/A.java", "src/notes.txt"), resolve("src/A.java", "src/notes.txt"));
    assertEquals(1, listings.directoriesListed());
    assertEquals(List.of("src/A.java"), resolve("src/A.java"));
    assertEquals(1, listings.directoriesListed());
    assertMissingInput(() -> resolve("src/Nope.java"));
  }

  private static InvalidGraphException assertMissingInput(
      org.junit.jupiter.api.function.Executable call) {
    InvalidGraphException e = assertThrows(InvalidGraphException.class, call);
    assertEquals(InvalidGraphException.Reason.MISSING_INPUT, e.reason(), e.getMessage());
    return e;
  }
}
