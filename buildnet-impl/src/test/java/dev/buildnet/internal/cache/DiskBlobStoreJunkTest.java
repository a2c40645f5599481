package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.hash.Hashing;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Junk where a blob belongs: whatever it is, it is moved to the quarantine, counts as a miss, and
 * the blob can be stored there again. Before, a directory at a blob's path failed every write of
 * that blob (and so its target) for good.
 */
class DiskBlobStoreJunkTest {
  private static final byte[] DATA = "the real bytes".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  private final Clock clock = Clock.fixed(Instant.ofEpochMilli(1_700_000_000_000L), ZoneOffset.UTC);

  private DiskBlobStore store() {
    return new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), clock);
  }

  private static Digest digestOf(DiskBlobStore store) {
    return store.hashes().hash(DATA);
  }

  private static List<Path> quarantined(DiskBlobStore store) throws IOException {
    Path q = store.root().resolve("quarantine");
    if (!Files.isDirectory(q)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(q)) {
      return s.toList();
    }
  }

  /** Asserts the junk is gone from the blob's path, was kept aside, and the blob stores afresh. */
  private static void assertMovedAsideAndStorable(DiskBlobStore store, Digest d) throws IOException {
    Path blob = store.pathOf(d);
    assertFalse(Files.exists(blob, LinkOption.NOFOLLOW_LINKS), "junk still at " + blob);
    assertEquals(1, quarantined(store).size(), "quarantine: " + quarantined(store));
    assertEquals(d, store.putBytes(DATA));
    assertTrue(Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS));
    assertArrayEquals(DATA, store.readVerified(d).orElseThrow());
  }

  @Test
  void aDirectoryAtABlobsPath_isAMissAndIsMovedAside() throws Exception {
    DiskBlobStore store = store();
    Digest d = digestOf(store);
    Path blob = store.pathOf(d);
    Files.createDirectories(blob.resolve("inside"));
    Files.writeString(blob.resolve("inside/file"), "x");

    assertFalse(store.contains(d));
    assertMovedAsideAndStorable(store, d);
    Path aside = quarantined(store).get(0);
    assertTrue(Files.exists(aside.resolve("inside/file")), "the junk is kept whole for a look");
  }

  @Test
  void aDirectoryAtABlobsPath_doesNotFailTheWriteOfThatBlob() throws Exception {
    DiskBlobStore store = store();
    Digest d = digestOf(store);
    Files.createDirectories(store.pathOf(d).resolve("inside"));

    // No contains() first: the write itself clears the way.
    assertEquals(d, store.put(new ByteArrayInputStream(DATA)));
    assertArrayEquals(DATA, store.readVerified(d).orElseThrow());
    assertEquals(1, quarantined(store).size());
  }

  @Test
  void aSymbolicLinkAtABlobsPath_isAMissEvenIfItPointsAtTheRightBytes() throws Exception {
    DiskBlobStore store = store();
    Digest d = digestOf(store);
    Path elsewhere = dir.resolve("elsewhere");
    Files.write(elsewhere, DATA);
    Path blob = store.pathOf(d);
    Files.createDirectories(blob.getParent());
    Files.createSymbolicLink(blob, elsewhere);

    Path restored = dir.resolve("restored");
    assertFalse(store.copyVerified(d, restored), "a link is never followed out of the store");
    assertFalse(Files.exists(restored));
    assertMovedAsideAndStorable(store, d);
    assertArrayEquals(DATA, Files.readAllBytes(elsewhere), "the link's target is left alone");
  }

  @Test
  void aFileOfTheWrongSize_isAMissWhenItsSizeIsKnown() throws Exception {
    DiskBlobStore store = store();
    Digest d = store.putBytes(DATA);
    Files.write(store.pathOf(d), "short".getBytes(StandardCharsets.UTF_8));

    assertFalse(store.contains(d, DATA.length));
    assertMovedAsideAndStorable(store, d);
    assertTrue(store.contains(d, DATA.length));
  }

  @Test
  void aFileOfTheWrongContent_isAMissOnRead() throws Exception {
    DiskBlobStore store = store();
    Digest d = store.putBytes(DATA);
    byte[] same = DATA.clone();
    same[0] ^= 1; // same size, other content
    Files.write(store.pathOf(d), same);

    assertTrue(store.contains(d, DATA.length), "the size matches; only reading can tell");
    assertEquals(Optional.empty(), store.readVerified(d));
    assertMovedAsideAndStorable(store, d);
  }

  @Test
  void aFileOfTheWrongContent_isAMissOnRestore() throws Exception {
    DiskBlobStore store = store();
    Digest d = store.putBytes(DATA);
    Files.write(store.pathOf(d), "garbage!".getBytes(StandardCharsets.UTF_8));

    assertFalse(store.copyVerified(d, dir.resolve("restored")));
    assertMovedAsideAndStorable(store, d);
  }

  @Test
  void junkOpenedForStreaming_isAbsent() throws Exception {
    DiskBlobStore store = store();
    Digest d = digestOf(store);
    Files.createDirectories(store.pathOf(d));

    assertEquals(Optional.empty(), store.openUnverified(d));
    assertEquals(Optional.empty(), store.sizeOf(d));
    assertMovedAsideAndStorable(store, d);
    try (InputStream in = store.openUnverified(d).orElseThrow()) {
      assertArrayEquals(DATA, in.readAllBytes());
    }
  }

  @Test
  void aFileWhereTheStoresShardDirectoryBelongs_isMovedAsideOnWrite() throws Exception {
    DiskBlobStore store = store();
    Digest d = digestOf(store);
    Path shard = store.pathOf(d).getParent();
    Files.createDirectories(shard.getParent());
    Files.writeString(shard, "not a directory");

    assertEquals(d, store.putBytes(DATA));
    assertTrue(Files.isDirectory(shard));
    assertEquals(1, quarantined(store).size());
  }

  @Test
  void gc_deletesWhatWasQuarantinedMoreThanAnHourAgo() throws Exception {
    Path cas = dir.resolve("cas");
    Digest d = Hashing.xxh64().hash(DATA);
    Instant start = Instant.ofEpochMilli(1_700_000_000_000L);
    DiskBlobStore then = new DiskBlobStore(cas, Hashing.xxh64(), Clock.fixed(start, ZoneOffset.UTC));
    Files.createDirectories(then.pathOf(d));
    assertFalse(then.contains(d));
    assertEquals(1, quarantined(then).size());

    DiskBlobStore halfAnHourOn = new DiskBlobStore(cas, Hashing.xxh64(),
        Clock.fixed(start.plusSeconds(1_800), ZoneOffset.UTC));
    halfAnHourOn.evictTo(Long.MAX_VALUE);
    assertEquals(1, quarantined(halfAnHourOn).size(), "still young: kept for a look");

    DiskBlobStore twoHoursOn = new DiskBlobStore(cas, Hashing.xxh64(),
        Clock.fixed(start.plusSeconds(7_200), ZoneOffset.UTC));
    twoHoursOn.evictTo(Long.MAX_VALUE);
    assertEquals(List.of(), quarantined(twoHoursOn));
  }

  @Test
  void quarantinedJunk_isNotCountedAsABlob() throws Exception {
    DiskBlobStore store = store();
    Digest kept = store.putBytes("kept".getBytes(StandardCharsets.UTF_8));
    Digest d = digestOf(store);
    Files.createDirectories(store.pathOf(d).getParent());
    Files.write(store.pathOf(d), "wrong".getBytes(StandardCharsets.UTF_8));
    assertFalse(store.contains(d, DATA.length));

    assertEquals(List.of(kept), store.entries().stream().map(DiskBlobStore.Entry::digest).toList());
  }
}
