package dev.buildnet.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link BlobStore} must have, as the SPI's Javadoc specifies it. A store's
 * test extends this class and implements {@link #createStore} and {@link #corrupt}; JUnit runs
 * every nested group against it. The store is closed after each test (and may be closed twice).
 */
public abstract class BlobStoreCompatibilityKit {
  private static final long WAIT_SECONDS = 60;

  /** A fresh, empty store for each test. */
  protected BlobStore store;

  /** A new, empty store. Called once per test; the kit closes it afterwards. */
  protected abstract BlobStore createStore() throws Exception;

  /**
   * Replaces what the store holds for {@code digest} (stored by the test just before) with {@code
   * bytes}, behind the store's back: the bit rot, eviction or tampering a store must survive.
   */
  protected abstract void corrupt(Digest digest, byte[] bytes) throws Exception;

  /** Bytes of the large blob case: several MiB, streamed, never held in memory by the kit. */
  protected long largeBlobBytes() {
    return 6L * 1024 * 1024;
  }

  @BeforeEach
  void createTheStore() throws Exception {
    store = createStore();
  }

  @AfterEach
  void closeTheStore() {
    if (store != null) {
      store.close();
    }
  }

  protected HashProvider hashes() {
    return store.hashes();
  }

  protected static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  protected Digest put(byte[] bytes) throws IOException {
    Digest d = hashes().hash(bytes);
    assertTrue(store.put(d, new ByteArrayInputStream(bytes)), store.name() + " declined " + d);
    return d;
  }

  /** Reads the whole blob through {@link BlobStore#open}; fails if absent. */
  protected byte[] read(Digest d) throws IOException {
    Optional<InputStream> in = store.open(d);
    assertTrue(in.isPresent(), d + " should be in " + store.name());
    try (InputStream s = in.get()) {
      return s.readAllBytes();
    }
  }

  @Nested
  class RoundTrip {
    @Test
    void putThenOpen_returnsTheSameBytes_andHasAndSizeSeeIt() throws Exception {
      for (int size : new int[] {1, 100, 65_536, 65_537, 300_000}) {
        byte[] bytes = random(size, size);
        Digest d = put(bytes);
        assertTrue(store.has(d), "size " + size);
        assertEquals(OptionalLong.of(size), store.size(d), "size " + size);
        assertArrayEquals(bytes, read(d), "size " + size);
      }
    }

    @Test
    void putWithoutADigest_returnsTheDigestOfTheBytes() throws Exception {
      byte[] bytes = random(70_000, 7);
      Digest d = store.put(new ByteArrayInputStream(bytes));
      assertEquals(hashes().hash(bytes), d);
      assertArrayEquals(bytes, read(d));
    }

    @Test
    void emptyBlob_roundTrips() throws Exception {
      Digest d = put(new byte[0]);
      assertTrue(store.has(d));
      assertEquals(OptionalLong.of(0), store.size(d));
      assertArrayEquals(new byte[0], read(d));
    }

    @Test
    void puttingABlobTwice_keepsOneIntactCopy() throws Exception {
      byte[] bytes = random(1000, 3);
      Digest d = put(bytes);
      assertEquals(d, put(bytes));
      assertArrayEquals(bytes, read(d));
    }

    @Test
    void largeBlob_streamsInAndOut() throws Exception {
      long size = largeBlobBytes();
      Digest d = digestOf(new Generated(size, 42));
      assertTrue(store.put(d, new Generated(size, 42)));
      assertEquals(OptionalLong.of(size), store.size(d));
      Optional<InputStream> in = store.open(d);
      assertTrue(in.isPresent());
      Hasher h = hashes().newHasher();
      long total = 0;
      try (InputStream s = in.get()) {
        byte[] chunk = new byte[64 * 1024];
        int n;
        while ((n = s.read(chunk)) != -1) {
          h.update(chunk, 0, n);
          total += n;
        }
      }
      assertEquals(size, total);
      assertEquals(d, h.digest());
    }
  }

  @Nested
  class Absence {
    @Test
    void missingBlob_isAbsentToEveryRead() throws Exception {
      Digest d = hashes().hash("never stored".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      assertFalse(store.has(d));
      assertEquals(OptionalLong.empty(), store.size(d));
      assertEquals(Optional.empty(), store.open(d));
    }

    @Test
    void digestOfAnotherAlgorithm_isRejectedAsMisuse() {
      HashProvider other = hashes().algorithm().equals("sha256")
          ? HashProvider.xxh64() : HashProvider.sha256();
      Digest d = other.hash(new byte[] {1, 2, 3});
      assertThrows(IllegalArgumentException.class, () -> store.has(d));
    }
  }

  @Nested
  class Verification {
    @Test
    void corruptSmallBlob_isNeverReturned_notEvenInPart() throws Exception {
      byte[] bytes = random(100, 11);
      Digest d = put(bytes);
      corrupt(d, random(100, 12));
      Optional<InputStream> in = store.open(d);
      if (in.isEmpty()) {
        return; // the store found it corrupt before streaming it: absent is sound
      }
      try (InputStream s = in.get()) {
        BlobException e = assertThrows(BlobException.class, s::read,
            "a small corrupt blob must not yield a single byte");
        assertEquals(BlobException.Reason.CORRUPT, e.reason());
      }
    }

    @Test
    void corruptLargeBlob_endsInAnError_neverInANormalEnd() throws Exception {
      byte[] bytes = random(300_000, 13);
      Digest d = put(bytes);
      byte[] bad = bytes.clone();
      bad[bad.length - 1] ^= 1;
      corrupt(d, bad);
      Optional<InputStream> in = store.open(d);
      if (in.isEmpty()) {
        return;
      }
      try (InputStream s = in.get()) {
        BlobException e = assertThrows(BlobException.class, s::readAllBytes);
        assertEquals(BlobException.Reason.CORRUPT, e.reason());
      }
    }

    @Test
    void putWithAWrongExpectedDigest_failsAndLeavesNothing() throws Exception {
      for (int size : new int[] {0, 100, 300_000}) {
        byte[] bytes = random(size, size + 1);
        Digest actual = hashes().hash(bytes);
        Digest wrong = hashes().hash(random(10, size + 2));
        BlobException e = assertThrows(BlobException.class,
            () -> store.put(wrong, new ByteArrayInputStream(bytes)), "size " + size);
        assertEquals(BlobException.Reason.DIGEST_MISMATCH, e.reason(), "size " + size);
        assertEquals(wrong, e.digest());
        assertFalse(store.has(wrong), "size " + size);
        assertFalse(store.has(actual), "size " + size);
        assertEquals(Optional.empty(), store.open(wrong), "size " + size);
      }
    }
  }

  @Nested
  class Concurrency {
    @Test
    void concurrentPutsOfTheSameDigest_allSucceed_andLeaveOneIntactBlob() throws Exception {
      byte[] bytes = random(200_000, 21);
      Digest d = hashes().hash(bytes);
      int writers = 6;
      CountDownLatch go = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(writers);
      try {
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
          Callable<Boolean> put = () -> {
            go.await();
            return store.put(d, new ByteArrayInputStream(bytes));
          };
          results.add(pool.submit(put));
        }
        go.countDown();
        for (Future<Boolean> r : results) {
          assertTrue(r.get(WAIT_SECONDS, TimeUnit.SECONDS));
        }
      } finally {
        pool.shutdownNow();
      }
      assertArrayEquals(bytes, read(d));
    }
  }

  @Nested
  class Lifecycle {
    @Test
    void close_isIdempotent() {
      store.close();
      store.close();
    }
  }

  private Digest digestOf(InputStream in) throws IOException {
    Hasher h = hashes().newHasher();
    byte[] chunk = new byte[64 * 1024];
    int n;
    while ((n = in.read(chunk)) != -1) {
      h.update(chunk, 0, n);
    }
    return h.digest();
  }

  /** {@code size} pseudo-random bytes from {@code seed}, generated as read: never in memory. */
  protected static final class Generated extends InputStream {
    private final SplittableRandom random;
    private long left;

    public Generated(long size, long seed) {
      this.random = new SplittableRandom(seed);
      this.left = size;
    }

    @Override
    public int read() {
      if (left == 0) {
        return -1;
      }
      left--;
      return random.nextInt(256);
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left == 0) {
        return len == 0 ? 0 : -1;
      }
      int n = (int) Math.min(len, left);
      for (int i = 0; i < n; i++) {
        b[off + i] = (byte) random.nextInt(256);
      }
      left -= n;
      return n;
    }
  }
}
