package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pack format of the HTTP cache's small entries, against real segment files: what survives a
 * restart, what a crash-torn tail or a flipped byte turns into, eviction, compaction, and
 * concurrent writers and readers of one key.
 */
class PackedCacheStoreTest {
  @TempDir Path dir;

  private HttpCacheStore open(long maxTotal) {
    return new HttpCacheStore(dir, 256L << 20, maxTotal, Clock.systemUTC());
  }

  private static void put(HttpCacheStore s, String key, byte[] value, String type)
      throws IOException {
    try (HttpCacheStore.Incoming in = s.incoming()) {
      in.write(ByteBuffer.wrap(value));
      s.put("gradle", key, in, type);
    }
  }

  private static Optional<byte[]> get(HttpCacheStore s, String key) throws IOException {
    Optional<HttpCacheStore.Entry> e = s.get("gradle", key);
    if (e.isPresent() && e.get().stream() != null) {
      try (var in = e.get().stream()) {
        return Optional.of(in.readAllBytes());
      }
    }
    return e.map(HttpCacheStore.Entry::bytes);
  }

  private static byte[] value(int seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void restart_keepsEveryEntry_withItsType_andTheLatestValueOfAKey() throws Exception {
    try (HttpCacheStore s = open(1L << 30)) {
      for (int i = 0; i < 50; i++) {
        put(s, "k" + i, value(i, 10 + i * 100), i % 2 == 0 ? CacheHandlers.GRADLE_V2 : null);
      }
      put(s, "k7", value(700, 33), null);
      assertEquals(1, PackFiles.segments(dir).size(), "50 small entries create one file");
    }
    try (HttpCacheStore s = open(1L << 30)) {
      for (int i = 0; i < 50; i++) {
        byte[] want = i == 7 ? value(700, 33) : value(i, 10 + i * 100);
        Optional<HttpCacheStore.Entry> e = s.get("gradle", "k" + i);
        assertTrue(e.isPresent(), "k" + i);
        assertArrayEquals(want, e.get().bytes(), "k" + i);
        assertEquals(i % 2 == 0 && i != 7 ? CacheHandlers.GRADLE_V2 : null, e.get().type(), "k" + i);
      }
    }
  }

  @Test
  void aTailTornByACrash_isDroppedAtStart_neverServed_andTheLogGoesOn() throws Exception {
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "whole", value(1, 1000), null);
      put(s, "torn", value(2, 1000), null);
    }
    PackFiles.Where torn = PackFiles.find(dir, "gradle", "torn");
    // A power loss kept the record's first half only.
    long cut = torn.recordStart() + (torn.recordEnd() - torn.recordStart()) / 2;
    try (FileChannel ch = FileChannel.open(torn.segment(), StandardOpenOption.WRITE)) {
      ch.truncate(cut);
    }
    try (HttpCacheStore s = open(1L << 30)) {
      assertArrayEquals(value(1, 1000), get(s, "whole").orElseThrow());
      assertFalse(get(s, "torn").isPresent(), "the torn record is not served");
      assertEquals(torn.recordStart(), Files.size(torn.segment()), "the torn tail is cut off");
      put(s, "after", value(3, 500), null);
    }
    try (HttpCacheStore s = open(1L << 30)) {
      assertArrayEquals(value(1, 1000), get(s, "whole").orElseThrow());
      assertArrayEquals(value(3, 500), get(s, "after").orElseThrow());
      assertFalse(get(s, "torn").isPresent());
    }
  }

  @Test
  void aTailWhoseBytesWereNeverWritten_failsItsChecksum_andIsDropped() throws Exception {
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "whole", value(1, 1000), null);
      put(s, "zeroed", value(2, 1000), null);
    }
    // The file's length reached the disk, but not the last record's data (zeros instead).
    PackFiles.Where w = PackFiles.find(dir, "gradle", "zeroed");
    PackFiles.overwrite(w, new byte[w.dataLength()]);
    try (HttpCacheStore s = open(1L << 30)) {
      assertFalse(get(s, "zeroed").isPresent());
      assertArrayEquals(value(1, 1000), get(s, "whole").orElseThrow());
    }
  }

  @Test
  void aByteFlippedWhileRunning_isAMiss_theEntryIsDropped_andStaysGoneAfterRestart()
      throws Exception {
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "victim", value(1, 2000), null);
      put(s, "neighbour", value(2, 2000), null);
      assertTrue(get(s, "victim").isPresent());
      PackFiles.flipOneByte(PackFiles.find(dir, "gradle", "victim"));
      assertNull(s.getPackedNow("gradle", "victim"), "the inline path refuses it");
      assertFalse(get(s, "victim").isPresent());
      assertFalse(get(s, "victim").isPresent());
      assertArrayEquals(value(2, 2000), get(s, "neighbour").orElseThrow());
    }
    try (HttpCacheStore s = open(1L << 30)) {
      assertFalse(get(s, "victim").isPresent());
      assertArrayEquals(value(2, 2000), get(s, "neighbour").orElseThrow());
    }
  }

  @Test
  void aByteFlippedInARecordsKey_isAMiss_andTheEntryIsDropped() throws Exception {
    // The index keeps no key (only a hash of it): a read checks the record's own key, so a record
    // that no longer names the key looked up is never served for it.
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "victim", value(4, 1500), null);
      put(s, "neighbour", value(5, 1500), null);
      PackFiles.flipKeyByte(PackFiles.find(dir, "gradle", "victim"), "gradle");
      assertNull(s.getPackedNow("gradle", "victim"), "the inline path refuses it");
      assertFalse(get(s, "victim").isPresent());
      assertEquals(1, s.entriesAndBytes()[0], "dropped: only the neighbour is left");
      assertArrayEquals(value(5, 1500), get(s, "neighbour").orElseThrow());
    }
  }

  @Test
  void theIndexKeepsNoObjectsPerEntry_soTheHeapDoesNotGrowWithTheEntryCount() throws Exception {
    // 200,000 entries took about 40 MB of heap with an index of one map entry, one key string
    // and one location object each (about 200 bytes an entry). Off the heap they take none.
    int entries = 200_000;
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "first", value(6, 16), null); // the classes and the first segment are there
      long before = heapAfterFullGc();
      byte[] small = value(7, 16);
      for (int i = 0; i < entries; i++) {
        put(s, "k" + i, small, null);
      }
      long grown = heapAfterFullGc() - before;
      assertEquals(entries + 1, s.entriesAndBytes()[0]);
      assertTrue(grown < 8L << 20, "the heap grew by " + grown + " bytes for " + entries
          + " entries");
      assertArrayEquals(small, get(s, "k" + (entries - 1)).orElseThrow());
    }
  }

  /** Heap in use after a full collection (G1 collects fully on System.gc() by default). */
  private static long heapAfterFullGc() {
    var memory = java.lang.management.ManagementFactory.getMemoryMXBean();
    System.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }

  @Test
  void anEntryHeldInMemoryAfterItsFirstRead_isStillAMissOnceFlippedOnDisk() throws Exception {
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "kept", value(3, 1024), null);
      byte[] first = s.getPackedNow("gradle", "kept").bytes();
      assertTrue(s.keptInMemory("gradle", "kept"), "verified once, then held");
      // Held bytes are served as they are (no copy, no second hash) while the disk agrees.
      assertSame(first, s.getPackedNow("gradle", "kept").bytes());
      PackFiles.flipOneByte(PackFiles.find(dir, "gradle", "kept"));
      assertNull(s.getPackedNow("gradle", "kept"), "the disk is still read and compared");
      assertFalse(get(s, "kept").isPresent(), "a miss, and dropped");
      assertFalse(s.keptInMemory("gradle", "kept"));
      put(s, "kept", value(3, 1024), null);
      assertArrayEquals(value(3, 1024), get(s, "kept").orElseThrow(), "stored again, served again");
    }
  }

  @Test
  void pastTheCap_oldSegmentsAreEvicted_butEntriesReadSinceAreKept() throws Exception {
    long cap = 200_000; // segments of 12,500 bytes
    try (HttpCacheStore s = open(cap)) {
      put(s, "hot", value(0, 5000), null);
      for (int i = 0; i < 200; i++) {
        put(s, "cold" + i, value(i + 1, 5000), null);
        // Read after each put, so it is always more recent than the segments being evicted.
        assertTrue(get(s, "hot").isPresent(), "the hot entry, after " + i + " puts");
        // Reads stamp in milliseconds: keep reads and writes ordered in time.
        long now = System.currentTimeMillis();
        while (System.currentTimeMillis() == now) {
          Thread.onSpinWait();
        }
      }
      long[] countAndBytes = s.entriesAndBytes();
      assertTrue(countAndBytes[1] <= cap, countAndBytes[1] + " bytes against a cap of " + cap);
      assertFalse(get(s, "cold0").isPresent(), "the oldest cold entry was evicted");
      assertTrue(get(s, "cold199").isPresent(), "the newest is kept");
      assertTrue(get(s, "hot").isPresent());
    }
    try (HttpCacheStore s = open(cap)) {
      assertTrue(get(s, "hot").isPresent(), "the carried-forward entry survives a restart");
      assertFalse(get(s, "cold0").isPresent());
    }
  }

  @Test
  void overwritingOneKey_compactsSegments_soTheLogStaysSmall() throws Exception {
    long cap = 1L << 20; // segments of 65,536 bytes
    try (HttpCacheStore s = open(cap)) {
      put(s, "keep", value(-1, 3000), null);
      for (int i = 0; i < 500; i++) {
        put(s, "same", value(i, 3000), null);
      }
      long bytes = s.entriesAndBytes()[1];
      assertTrue(bytes < 4 * 65_536, bytes + " bytes for 2 live entries of 3,000");
      assertArrayEquals(value(499, 3000), get(s, "same").orElseThrow());
      assertArrayEquals(value(-1, 3000), get(s, "keep").orElseThrow(), "moved, not lost");
    }
    try (HttpCacheStore s = open(cap)) {
      assertArrayEquals(value(499, 3000), get(s, "same").orElseThrow());
      assertArrayEquals(value(-1, 3000), get(s, "keep").orElseThrow());
    }
  }

  @Test
  void aBigValueReplacesAPackedOne_andAPackedOneABigOne_acrossRestarts() throws Exception {
    byte[] small = value(1, 100);
    byte[] big = value(2, 200_000);
    byte[] small2 = value(3, 100);
    try (HttpCacheStore s = open(1L << 30)) {
      put(s, "k", small, null);
      put(s, "k", big, null);
      assertArrayEquals(big, get(s, "k").orElseThrow());
    }
    try (HttpCacheStore s = open(1L << 30)) {
      assertArrayEquals(big, get(s, "k").orElseThrow(), "the tombstone keeps the small one dead");
      put(s, "k", small2, null);
      assertArrayEquals(small2, get(s, "k").orElseThrow());
    }
    try (HttpCacheStore s = open(1L << 30)) {
      assertArrayEquals(small2, get(s, "k").orElseThrow(), "the packed value is the newer");
    }
  }

  @Test
  void casBlobs_arePacked_headKnowsTheirSize_andSurviveARestart() throws Exception {
    byte[] blob = value(5, 777);
    Digest d = Digest.of("sha256", MessageDigest.getInstance("SHA-256").digest(blob));
    try (HttpCacheStore s = open(1L << 30)) {
      try (HttpCacheStore.Incoming in = s.incoming()) {
        in.write(ByteBuffer.wrap(blob));
        s.putBlob(d, in);
      }
      assertEquals(Optional.of(777L), s.sizeOfBlob(d));
      assertNotNull(PackFiles.find(dir, "cas", d.hex()));
    }
    try (HttpCacheStore s = open(1L << 30)) {
      assertArrayEquals(blob, s.getBlob(d).orElseThrow().bytes());
      assertArrayEquals(blob, s.getPackedNow("cas", d.hex()).bytes());
    }
  }

  @Test
  void concurrentPutsAndGetsOfOneKey_seeWholeValuesOnly_whileSegmentsRollAndCompact()
      throws Exception {
    int writers = 3;
    int readers = 3;
    int putsEach = 400;
    // Every value names its writer and round in its first bytes and is otherwise derived from
    // them, so a reader can tell a whole value from a mix of two.
    List<byte[]> all = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      for (int i = 0; i < putsEach; i++) {
        all.add(value(w * 100_000 + i, 1500));
      }
    }
    ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger served = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    try (HttpCacheStore s = open(1L << 20)) { // segments of 65,536 bytes: many rolls
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        threads.add(new Thread(() -> {
          try {
            go.await();
            for (int i = 0; i < putsEach; i++) {
              put(s, "shared", all.get(writer * putsEach + i), null);
            }
          } catch (Exception e) {
            problems.add("writer: " + e);
          }
        }));
      }
      for (int r = 0; r < readers; r++) {
        int reader = r;
        threads.add(new Thread(() -> {
          try {
            go.await();
            while (writing.get()) {
              byte[] got;
              if (reader % 2 == 0) {
                HttpCacheStore.Entry e = s.getPackedNow("gradle", "shared");
                got = e == null ? null : e.bytes();
              } else {
                got = get(s, "shared").orElse(null);
              }
              if (got != null) {
                served.incrementAndGet();
                if (all.stream().noneMatch(v -> java.util.Arrays.equals(v, got))) {
                  problems.add("a value no writer stored, " + got.length + " bytes");
                }
              }
            }
          } catch (Exception e) {
            problems.add("reader: " + e);
          }
        }));
      }
      threads.forEach(Thread::start);
      go.countDown();
      for (int i = 0; i < writers; i++) {
        threads.get(i).join();
      }
      writing.set(false);
      for (Thread t : threads) {
        t.join();
      }
      assertEquals(List.of(), List.copyOf(problems));
      assertTrue(served.get() > 0, "the readers found the key");
      byte[] last = get(s, "shared").orElseThrow();
      assertTrue(all.stream().anyMatch(v -> java.util.Arrays.equals(v, last)));
    }
  }
}
