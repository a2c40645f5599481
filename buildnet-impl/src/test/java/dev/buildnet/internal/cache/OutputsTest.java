package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.internal.hash.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import dev.buildnet.api.hash.Digest;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputsTest {
  @TempDir Path ws;
  private DiskBlobStore blobs;
  private Outputs outputs;

  @BeforeEach
  void setUp() {
    blobs = new DiskBlobStore(ws.resolve(".buildnet/cas"), Hashing.xxh64(), Clock.systemUTC());
    outputs = new Outputs(ws, blobs);
  }

  private ActionManifest manifestOf(Outputs.Collected c) {
    return new ActionManifest(ActionManifest.VERSION, "t", c.files(), c.directories(), null, null,
        0, 5, 0);
  }

  @Test
  void collectStoresFilesAndDirectoriesSortedByPath() throws Exception {
    Files.writeString(ws.resolve("a.txt"), "A");
    Files.createDirectories(ws.resolve("out/sub"));
    Files.writeString(ws.resolve("out/sub/b.txt"), "B");
    Files.writeString(ws.resolve("out/c.txt"), "C");
    Outputs.Collected c = outputs.collect(List.of("out", "a.txt"));
    assertEquals(List.of("a.txt", "out/c.txt", "out/sub/b.txt"),
        c.files().stream().map(ActionManifest.Output::path).toList());
    assertEquals(List.of("out"), c.directories());
    assertEquals(3, c.totalBytes());
  }

  @Test
  void aMissingDeclaredOutputIsNamed() {
    var e = assertThrows(Outputs.OutputException.class, () -> outputs.collect(List.of("nope.txt")));
    assertTrue(e.getMessage().contains("nope.txt"), e.getMessage());
  }

  @Test
  void aSymlinkOutputIsRefused() throws Exception {
    Files.writeString(ws.resolve("real.txt"), "x");
    Files.createSymbolicLink(ws.resolve("link.txt"), ws.resolve("real.txt"));
    assertThrows(Outputs.OutputException.class, () -> outputs.collect(List.of("link.txt")));
  }

  @Test
  void restoreRecreatesOutputsWithTheirExecutableBit() throws Exception {
    Files.createDirectories(ws.resolve("bin"));
    Path tool = Files.writeString(ws.resolve("bin/tool"), "#!/bin/sh\necho hi\n");
    tool.toFile().setExecutable(true);
    Files.writeString(ws.resolve("notes.txt"), "n");
    ActionManifest m = manifestOf(outputs.collect(List.of("bin", "notes.txt")));
    outputs.clear(List.of("bin", "notes.txt"));
    assertFalse(Files.exists(ws.resolve("bin")));
    assertTrue(outputs.restore(m));
    assertEquals("n", Files.readString(ws.resolve("notes.txt")));
    assertTrue(Files.isExecutable(ws.resolve("bin/tool")));
    assertTrue(outputs.upToDate(m, blobs.hashes()::hash));
  }

  @Test
  void restoreSwapsADirectoryWholeSoNoStaleFileSurvives() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("out/keep.txt"), "k");
    ActionManifest m = manifestOf(outputs.collect(List.of("out")));
    Files.writeString(ws.resolve("out/stale.txt"), "s");
    assertFalse(outputs.upToDate(m, blobs.hashes()::hash));
    assertTrue(outputs.restore(m));
    assertFalse(Files.exists(ws.resolve("out/stale.txt")));
    assertEquals("k", Files.readString(ws.resolve("out/keep.txt")));
  }

  @Test
  void aFailedRestoreLeavesTheWorkspaceExactlyAsItWas() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("out/one.txt"), "one");
    Files.writeString(ws.resolve("out/two.txt"), "two");
    Files.writeString(ws.resolve("single.txt"), "single");
    ActionManifest m = manifestOf(outputs.collect(List.of("out", "single.txt")));
    // The workspace now holds different content, and one blob of the manifest is corrupt.
    Files.writeString(ws.resolve("out/one.txt"), "local edit");
    Files.writeString(ws.resolve("single.txt"), "local single");
    ActionManifest.Output two = m.outputs().stream()
        .filter(o -> o.path().equals("out/two.txt")).findFirst().orElseThrow();
    Files.writeString(blobs.pathOf(two.parsedDigest()), "corrupt");

    assertFalse(outputs.restore(m));

    assertEquals("local edit", Files.readString(ws.resolve("out/one.txt")));
    assertEquals("local single", Files.readString(ws.resolve("single.txt")));
    assertFalse(blobs.contains(two.parsedDigest()), "the corrupt blob is removed");
    try (Stream<Path> all = Files.walk(ws)) {
      assertTrue(all.noneMatch(p -> p.getFileName().toString().contains(".buildnet-stage-")),
          "no staged file is left behind");
    }
  }

  @Test
  void pathsThatEscapeTheWorkspaceAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> outputs.resolve("../evil.txt"));
    assertThrows(IllegalArgumentException.class, () -> outputs.resolve("a/../../evil.txt"));
    assertThrows(IllegalArgumentException.class, () -> outputs.resolve("/etc/passwd"));
  }
  /** The hit check of the engine: digests of regular files only, as FileDigestCache gives them. */
  private Digest regularOnly(Path p) throws java.io.IOException {
    return Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
        ? blobs.hashes().hash(p) : null;
  }

  @Test
  void theHitCheck_acceptsExactlyTheRecordedFiles_andChecksTheirDirectoryOncePerSet()
      throws Exception {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("out/a.txt"), "A");
    ActionManifest m = manifestOf(outputs.collect(List.of("out/a.txt")));
    Set<String> safe = new HashSet<>();
    assertTrue(outputs.upToDate(List.of("out/a.txt"), m, this::regularOnly, safe));
    assertEquals(Set.of("out"), safe);

    Files.writeString(ws.resolve("out/a.txt"), "B");
    assertFalse(outputs.upToDate(List.of("out/a.txt"), m, this::regularOnly, safe), "edited");
    Files.delete(ws.resolve("out/a.txt"));
    assertFalse(outputs.upToDate(List.of("out/a.txt"), m, this::regularOnly, safe), "deleted");
    Files.writeString(ws.resolve("a-copy.txt"), "A");
    Files.createSymbolicLink(ws.resolve("out/a.txt"), ws.resolve("a-copy.txt"));
    assertFalse(outputs.upToDate(List.of("out/a.txt"), m, this::regularOnly, safe),
        "a link, even to the same bytes inside the workspace, is restored as a file");
  }

  @Test
  void theHitCheck_refusesADirectoryLinkLeavingTheWorkspace_withRequireInsidesWords(
      @TempDir Path outside) throws Exception {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("out/a.txt"), "A");
    ActionManifest m = manifestOf(outputs.collect(List.of("out/a.txt")));
    Files.move(ws.resolve("out/a.txt"), outside.resolve("a.txt"));
    Files.delete(ws.resolve("out"));
    Files.createSymbolicLink(ws.resolve("out"), outside);
    var e = assertThrows(Outputs.OutputException.class,
        () -> outputs.upToDate(List.of("out/a.txt"), m, this::regularOnly, new HashSet<>()));
    var same = assertThrows(Outputs.OutputException.class,
        () -> outputs.requireInside(List.of("out/a.txt")));
    assertEquals(same.getMessage(), e.getMessage());
  }

  @Test
  void theHitCheck_ofADeclaredDirectory_isTheFullCheck() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("out/keep.txt"), "k");
    ActionManifest m = manifestOf(outputs.collect(List.of("out")));
    assertTrue(outputs.upToDate(List.of("out"), m, this::regularOnly, new HashSet<>()));
    Files.writeString(ws.resolve("out/stale.txt"), "s");
    assertFalse(outputs.upToDate(List.of("out"), m, this::regularOnly, new HashSet<>()));
  }
  @Test
  void theHitCheck_ofANestedDirectory_checksEachDirectoryAboveItOncePerSet() throws Exception {
    Files.createDirectories(ws.resolve("a/b/pkg/dist"));
    Files.writeString(ws.resolve("a/b/pkg/dist/out.js"), "o");
    ActionManifest m = manifestOf(outputs.collect(List.of("a/b/pkg/dist")));
    Set<String> safe = new HashSet<>();
    assertTrue(outputs.upToDate(List.of("a/b/pkg/dist"), m, this::regularOnly, safe));
    assertEquals(Set.of("a", "a/b", "a/b/pkg"), safe);
    Files.writeString(ws.resolve("a/b/pkg/dist/stale.js"), "s");
    assertFalse(outputs.upToDate(List.of("a/b/pkg/dist"), m, this::regularOnly, safe));
  }

  @Test
  void theHitCheck_ofADirectory_refusesALinkLeavingTheWorkspace_atItOrAboveIt(
      @TempDir Path outside) throws Exception {
    Files.createDirectories(ws.resolve("pkg/dist"));
    Files.writeString(ws.resolve("pkg/dist/out.js"), "o");
    ActionManifest m = manifestOf(outputs.collect(List.of("pkg/dist")));
    Files.move(ws.resolve("pkg/dist/out.js"), outside.resolve("out.js"));
    Files.delete(ws.resolve("pkg/dist"));
    Files.createSymbolicLink(ws.resolve("pkg/dist"), outside);
    var atIt = assertThrows(Outputs.OutputException.class,
        () -> outputs.upToDate(List.of("pkg/dist"), m, this::regularOnly, new HashSet<>()));
    assertEquals(assertThrows(Outputs.OutputException.class,
        () -> outputs.requireInside(List.of("pkg/dist"))).getMessage(), atIt.getMessage());

    Files.delete(ws.resolve("pkg/dist"));
    Files.createDirectories(outside.resolve("dist"));
    Files.move(outside.resolve("out.js"), outside.resolve("dist/out.js"));
    Files.delete(ws.resolve("pkg"));
    Files.createSymbolicLink(ws.resolve("pkg"), outside);
    Set<String> safe = new HashSet<>();
    var above = assertThrows(Outputs.OutputException.class,
        () -> outputs.upToDate(List.of("pkg/dist"), m, this::regularOnly, safe));
    assertEquals(assertThrows(Outputs.OutputException.class,
        () -> outputs.requireInside(List.of("pkg/dist"))).getMessage(), above.getMessage());
    assertEquals(Set.of(), safe);
  }

  @Test
  void theHitCheck_followsADirectoryLinkInsideTheWorkspace() throws Exception {
    Files.createDirectories(ws.resolve("real/dist"));
    Files.writeString(ws.resolve("real/dist/out.js"), "o");
    Files.createSymbolicLink(ws.resolve("pkg"), ws.resolve("real"));
    ActionManifest m = manifestOf(outputs.collect(List.of("pkg/dist")));
    Set<String> safe = new HashSet<>();
    assertTrue(outputs.upToDate(List.of("pkg/dist"), m, this::regularOnly, safe));
    assertEquals(Set.of("pkg"), safe);
  }

  @Test
  void theHitCheck_ofAMissingDirectory_isNotUpToDate() throws Exception {
    Files.createDirectories(ws.resolve("pkg/dist"));
    Files.writeString(ws.resolve("pkg/dist/out.js"), "o");
    ActionManifest m = manifestOf(outputs.collect(List.of("pkg/dist")));
    Files.delete(ws.resolve("pkg/dist/out.js"));
    Files.delete(ws.resolve("pkg/dist"));
    Files.delete(ws.resolve("pkg"));
    Set<String> safe = new HashSet<>();
    assertFalse(outputs.upToDate(List.of("pkg/dist"), m, this::regularOnly, safe));
    assertEquals(Set.of(), safe);
  }
}
