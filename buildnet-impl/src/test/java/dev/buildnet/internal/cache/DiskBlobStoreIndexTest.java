package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.hash.Hashing;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The presence index behind {@link DiskBlobStore#knownToContain}: a blob seen once is not looked
 * at again, and a blob deleted behind the store's back is never served: every read finds it
 * missing, reports it absent, and the index forgets it.
 */
class DiskBlobStoreIndexTest {
  @TempDir Path dir;

  private DiskBlobStore store() {
    return new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aBlobWrittenOrSeenOnce_isKnownWithoutLookingAtItsFileAgain() throws Exception {
    DiskBlobStore store = store();
    Digest written = store.putBytes(bytes("written here"));
    long before = store.fileChecks();
    for (int i = 0; i < 100; i++) {
      assertTrue(store.knownToContain(written, 12));
    }
    assertEquals(before, store.fileChecks(), "a blob this store wrote needs no lstat");

    // Written by another instance (another process): one look, then known.
    Digest other = store().putBytes(bytes("written elsewhere"));
    before = store.fileChecks();
    assertTrue(store.knownToContain(other, 17));
    assertTrue(store.knownToContain(other, 17));
    assertTrue(store.knownToContain(other, -1));
    assertEquals(before + 1, store.fileChecks());
  }

  @Test
  void aWrongSize_isLookedAtAndTheBlobIsAbsent() throws Exception {
    DiskBlobStore store = store();
    Digest d = store.putBytes(bytes("twelve bytes"));
    assertFalse(store.knownToContain(d, 13), "a record naming another size never hits");
    assertFalse(store.contains(d), "the file of the wrong size was moved aside");
  }

  @Test
  void aBlobDeletedBehindTheStoresBack_isReportedAbsentByEveryReadAndForgotten() throws Exception {
    DiskBlobStore store = store();
    Digest d = store.putBytes(bytes("soon gone"));
    assertTrue(store.knownToContain(d, 9));
    Files.delete(store.pathOf(d)); // another process's gc, or rm

    Path restored = dir.resolve("restored");
    assertFalse(store.copyVerified(d, restored), "a restore finds it missing: a miss, no failure");
    assertFalse(store.knownToContain(d, 9), "and the index no longer claims it");

    Digest log = store.putBytes(bytes("a log"));
    assertTrue(store.knownToContain(log, -1));
    Files.delete(store.pathOf(log));
    assertEquals(Optional.empty(), store.readVerified(log));
    assertFalse(store.knownToContain(log, -1));

    Digest streamed = store.putBytes(bytes("streamed"));
    assertTrue(store.knownToContain(streamed, 8));
    Files.delete(store.pathOf(streamed));
    assertTrue(store.openUnverified(streamed).isEmpty());
    assertFalse(store.knownToContain(streamed, 8));
  }

  @Test
  void aBlobReplacedBehindTheStoresBack_isNeverRestoredWithWrongBytes() throws Exception {
    DiskBlobStore store = store();
    Digest d = store.putBytes(bytes("original"));
    assertTrue(store.knownToContain(d, 8));
    Files.write(store.pathOf(d), bytes("tampered")); // same size, other bytes

    Path restored = dir.resolve("restored");
    assertFalse(store.copyVerified(d, restored), "verified on the way: corrupt, so absent");
    assertFalse(store.knownToContain(d, 8));
    assertFalse(Files.exists(store.pathOf(d)), "the corrupt file was moved aside");
  }

  @Test
  void eviction_andAWalkOfTheStore_updateTheIndex() throws Exception {
    DiskBlobStore store = store();
    Digest kept = store.putBytes(bytes("kept"));
    Digest evicted = store.putBytes(bytes("evicted!"));
    Digest deletedElsewhere = store.putBytes(bytes("deleted elsewhere"));
    Files.setLastModifiedTime(store.pathOf(evicted), java.nio.file.attribute.FileTime.fromMillis(0));

    assertEquals(List.of(evicted), store.evictTo(4 + 17));
    assertFalse(store.knownToContain(evicted, 8), "what this store evicts leaves the index");

    Files.delete(store.pathOf(deletedElsewhere));
    assertTrue(store.knownToContain(deletedElsewhere, 17), "not seen yet");
    store.entries(); // the sweep gc takes
    long before = store.fileChecks();
    assertFalse(store.knownToContain(deletedElsewhere, 17), "the walk found it gone");
    assertTrue(store.knownToContain(kept, 4));
    assertEquals(before + 1, store.fileChecks(), "only the blob the walk did not find is looked at");
  }

  @Test
  void theIndex_isDroppedAfterTheSweepInterval() throws Exception {
    DiskBlobStore store = new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC(),
        Duration.ofNanos(1));
    Digest d = store.putBytes(bytes("swept"));
    Files.delete(store.pathOf(d));
    long deadline = System.nanoTime() + 30_000_000_000L; // a failure bound only
    while (System.nanoTime() - deadline < 0 && store.knownToContain(d, 5)) {
      Thread.onSpinWait(); // the interval is 1 ns: the next call after any tick looks again
    }
    assertFalse(store.knownToContain(d, 5));
  }
}
