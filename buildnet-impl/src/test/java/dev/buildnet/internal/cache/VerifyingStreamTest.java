package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link BlobStore#verifying}: what a reader may see of good and of corrupt bytes. */
class VerifyingStreamTest {
  private static final int CHUNK = 64 * 1024;
  private static final int[] SIZES = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7};

  private static byte[] random(int size) {
    byte[] b = new byte[size];
    new Random(size).nextBytes(b);
    return b;
  }

  @Test
  void goodBytes_readWholeAndByteByByte_atEveryChunkBoundary() throws IOException {
    HashProvider sha = HashProvider.sha256();
    for (int size : SIZES) {
      byte[] bytes = random(size);
      Digest d = sha.hash(bytes);
      try (InputStream in = BlobStore.verifying(new ByteArrayInputStream(bytes), d, sha, null)) {
        assertArrayEquals(bytes, in.readAllBytes(), "size " + size);
        assertEquals(-1, in.read(), "size " + size);
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (InputStream in = BlobStore.verifying(new ByteArrayInputStream(bytes), d, sha, null)) {
        int b;
        while ((b = in.read()) != -1) {
          out.write(b);
        }
      }
      assertArrayEquals(bytes, out.toByteArray(), "size " + size);
    }
  }

  @Test
  void corruptBytes_withholdTheLastChunk_failEveryRead_andReportOnce() throws IOException {
    HashProvider sha = HashProvider.sha256();
    for (int size : SIZES) {
      if (size == 0) {
        continue;
      }
      byte[] bytes = random(size);
      Digest d = sha.hash(bytes);
      byte[] bad = bytes.clone();
      bad[size - 1] ^= 1;
      AtomicInteger reported = new AtomicInteger();
      long delivered = 0;
      try (InputStream in = BlobStore.verifying(new ByteArrayInputStream(bad), d, sha,
          reported::incrementAndGet)) {
        byte[] buf = new byte[1000];
        try {
          int n;
          while ((n = in.read(buf)) != -1) {
            delivered += n;
          }
          throw new AssertionError("size " + size + ": a corrupt blob reached its end");
        } catch (BlobException e) {
          assertEquals(BlobException.Reason.CORRUPT, e.reason(), "size " + size);
          assertEquals(d, e.digest());
        }
        assertEquals(BlobException.Reason.CORRUPT,
            assertThrows(BlobException.class, in::read, "size " + size).reason());
      }
      assertEquals(1, reported.get(), "size " + size);
      long lastChunkStart = ((size - 1) / CHUNK) * (long) CHUNK;
      assertEquals(true, delivered <= lastChunkStart,
          "size " + size + ": delivered " + delivered + " bytes, into the last chunk");
    }
  }

  @Test
  void aDigestOfAnotherAlgorithm_isMisuse() {
    Digest xxh = HashProvider.xxh64().hash(new byte[] {1});
    assertThrows(IllegalArgumentException.class, () -> BlobStore.verifying(
        new ByteArrayInputStream(new byte[] {1}), xxh, HashProvider.sha256(), null));
  }
}
