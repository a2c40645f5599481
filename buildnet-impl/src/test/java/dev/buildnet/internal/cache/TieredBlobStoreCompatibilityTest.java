package dev.buildnet.internal.cache;

import dev.buildnet.tck.BlobStoreCompatibilityKit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.hash.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The compatibility kit against the tiering decorator (a disk store in front of another), plus
 * what tiering itself promises: read-through, write-through, verified fills.
 */
class TieredBlobStoreCompatibilityTest extends BlobStoreCompatibilityKit {
  @TempDir Path dir;
  DiskBlobStore local;
  DiskBlobStore shared;
  TieredBlobStore tiered;

  @Override
  protected BlobStore createStore() {
    local = new DiskBlobStore(dir.resolve("local"), Hashing.xxh64(), Clock.systemUTC());
    shared = new DiskBlobStore(dir.resolve("shared"), Hashing.xxh64(), Clock.systemUTC());
    tiered = new TieredBlobStore(local, shared);
    return tiered;
  }

  @Override
  protected void corrupt(Digest digest, byte[] bytes) throws Exception {
    Files.write(local.pathOf(digest), bytes);
    Files.write(shared.pathOf(digest), bytes);
  }

  @Test
  void put_writesThroughToTheSharedTier() throws Exception {
    byte[] bytes = random(5000, 1);
    Digest d = put(bytes);
    assertArrayEquals(bytes, local.readVerified(d).orElseThrow());
    assertArrayEquals(bytes, shared.readVerified(d).orElseThrow());
  }

  @Test
  void aLocalMiss_isFilledFromTheSharedTier() throws Exception {
    byte[] bytes = random(200_000, 2);
    Digest d = shared.putBytes(bytes);
    assertFalse(local.contains(d));
    assertTrue(tiered.has(d));
    assertArrayEquals(bytes, read(d));
    assertArrayEquals(bytes, local.readVerified(d).orElseThrow(), "the local tier keeps it");
  }

  @Test
  void aCorruptSharedBlob_isAMiss_andNeverReachesTheLocalTier() throws Exception {
    byte[] bytes = random(1000, 3);
    Digest d = shared.putBytes(bytes);
    Files.write(shared.pathOf(d), random(1000, 4));
    assertFalse(tiered.fill(d, -1));
    assertFalse(local.contains(d));
    assertFalse(shared.contains(d), "the shared tier moved it aside");
  }

  @Test
  void fill_replacesALocalBlobOfTheWrongSize() throws Exception {
    byte[] bytes = random(1000, 5);
    Digest d = put(bytes);
    Files.write(local.pathOf(d), random(10, 6));
    assertTrue(tiered.fill(d, 1000));
    assertArrayEquals(bytes, local.readVerified(d).orElseThrow());
  }

  @Test
  void push_sharesALocalBlob_unlessCorruptThere() throws Exception {
    Digest good = local.putBytes(random(100, 7));
    assertTrue(tiered.push(good));
    assertTrue(shared.contains(good));

    Digest bad = local.putBytes(random(100, 8));
    Files.write(local.pathOf(bad), random(100, 9));
    assertFalse(tiered.push(bad));
    assertFalse(shared.contains(bad));
  }

  @Test
  void tiersOfDifferentAlgorithms_areRejected() {
    DiskBlobStore sha = new DiskBlobStore(dir.resolve("sha"), Hashing.sha256(), Clock.systemUTC());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new TieredBlobStore(local, sha));
    assertEquals(true, e.getMessage().contains("same hash"), e.getMessage());
  }
}
