package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.internal.hash.Hashing;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskBlobStoreTest {
  @TempDir Path dir;

  private final AtomicLong now = new AtomicLong(1_700_000_000_000L);
  private final Clock clock =
      new Clock() {
        @Override
        public ZoneOffset getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return Instant.ofEpochMilli(now.get());
        }
      };

  private DiskBlobStore store(HashProvider hashes) {
    return new DiskBlobStore(dir.resolve("cas"), hashes, clock);
  }

  @Test
  void putThenCopyVerifiedRoundTripsTheBytes() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    byte[] data = "hello blobs".getBytes(StandardCharsets.UTF_8);
    Digest d = store.putBytes(data);
    assertTrue(store.contains(d));
    Path out = dir.resolve("out.bin");
    assertTrue(store.copyVerified(d, out));
    assertArrayEquals(data, Files.readAllBytes(out));
  }

  @Test
  void streamingPutGivesTheSameDigestAsOneShot() throws Exception {
    DiskBlobStore store = store(Hashing.sha256());
    byte[] data = new byte[300_000];
    new Random(7).nextBytes(data);
    Digest streamed = store.put(new ByteArrayInputStream(data));
    assertEquals(Hashing.sha256().hash(data), streamed);
    assertEquals(data.length, store.sizeOf(streamed).orElseThrow());
  }

  @Test
  void corruptBlobIsNeverServedAndIsRemoved() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    Digest d = store.putBytes("original".getBytes(StandardCharsets.UTF_8));
    Files.writeString(store.pathOf(d), "tampered");
    assertFalse(store.copyVerified(d, dir.resolve("x")));
    assertFalse(store.contains(d), "corrupt blob must be deleted");
    assertTrue(store.readVerified(d).isEmpty());
  }

  @Test
  void readVerifiedDropsACorruptBlob() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    Digest d = store.putBytes("log line\n".getBytes(StandardCharsets.UTF_8));
    Files.writeString(store.pathOf(d), "log linE\n");
    assertTrue(store.readVerified(d).isEmpty());
    assertFalse(store.contains(d));
  }

  @Test
  void evictionRemovesLeastRecentlyUsedFirst() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    Digest a = store.putBytes(new byte[] {1, 1, 1, 1});
    now.addAndGet(10_000);
    Digest b = store.putBytes(new byte[] {2, 2, 2, 2});
    now.addAndGet(10_000);
    Digest c = store.putBytes(new byte[] {3, 3, 3, 3});
    now.addAndGet(10_000);
    assertTrue(store.readVerified(a).isPresent()); // a is now the most recently used
    List<Digest> evicted = store.evictTo(8);
    assertEquals(List.of(b), evicted);
    assertTrue(store.contains(a));
    assertTrue(store.contains(c));
    assertEquals(8, store.totalBytes());
  }

  @Test
  void concurrentWritersOfTheSameContentAgree() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    byte[] data = new byte[100_000];
    new Random(3).nextBytes(data);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Digest>> futures = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        futures.add(pool.submit(() -> store.putBytes(data)));
      }
      Digest first = futures.get(0).get(10, TimeUnit.SECONDS);
      for (Future<Digest> f : futures) {
        assertEquals(first, f.get(10, TimeUnit.SECONDS));
      }
      assertEquals(1, store.entries().size());
      assertTrue(store.verify(first));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aDigestOfAnotherAlgorithmIsRefused() {
    DiskBlobStore store = store(Hashing.xxh64());
    Digest sha = Hashing.sha256().hash(new byte[] {1});
    var e = assertThrows(IllegalArgumentException.class, () -> store.contains(sha));
    assertTrue(e.getMessage().contains("sha256"), e.getMessage());
  }

  @Test
  void putVerified_storesBytesThatMatchTheDigest() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    byte[] data = "verified bytes".getBytes(StandardCharsets.UTF_8);
    Digest d = Hashing.xxh64().hash(data);
    assertTrue(store.putVerified(new ByteArrayInputStream(data), d));
    assertFalse(store.putVerified(new ByteArrayInputStream(data), d), "already present");
    assertArrayEquals(data, store.readVerified(d).orElseThrow());
  }

  @Test
  void putVerified_refusesAMismatchAndStoresNothing() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    Digest claimed = Hashing.xxh64().hash("other".getBytes(StandardCharsets.UTF_8));
    byte[] data = "the real bytes".getBytes(StandardCharsets.UTF_8);
    BlobException e = assertThrows(BlobException.class,
        () -> store.putVerified(new ByteArrayInputStream(data), claimed));
    assertEquals(BlobException.Reason.DIGEST_MISMATCH, e.reason());
    assertEquals(claimed, e.digest());
    assertEquals(Hashing.xxh64().hash(data), e.actualDigest());
    assertTrue(e.getMessage().contains(claimed.toString()) && e.getMessage().contains(e.actualDigest().toString()));
    assertTrue(store.entries().isEmpty());
    assertFalse(store.contains(e.actualDigest()));
    try (var tmp = Files.list(dir.resolve("cas/tmp"))) {
      assertEquals(0, tmp.count(), "temp file left behind");
    }
  }

  @Test
  void putVerified_refusesADigestOfAnotherAlgorithm() {
    DiskBlobStore store = store(Hashing.xxh64());
    Digest sha = Hashing.sha256().hash(new byte[] {1});
    assertThrows(IllegalArgumentException.class,
        () -> store.putVerified(new ByteArrayInputStream(new byte[] {1}), sha));
  }

  @Test
  void upload_closedWithoutPublishLeavesNoTempFile() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    try (DiskBlobStore.Upload u = store.openUpload()) {
      u.write(new byte[] {1, 2, 3}, 0, 3);
      assertEquals(3, u.size());
    }
    try (var tmp = Files.list(dir.resolve("cas/tmp"))) {
      assertEquals(0, tmp.count());
    }
    assertTrue(store.entries().isEmpty());
  }

  @Test
  void openUnverified_streamsTheBlobAndDiscardRemovesIt() throws Exception {
    DiskBlobStore store = store(Hashing.xxh64());
    byte[] data = "stream me".getBytes(StandardCharsets.UTF_8);
    Digest d = store.putBytes(data);
    try (var in = store.openUnverified(d).orElseThrow()) {
      assertArrayEquals(data, in.readAllBytes());
    }
    assertTrue(store.discard(d));
    assertTrue(store.openUnverified(d).isEmpty());
  }
}
