package dev.buildnet.redis;

import dev.buildnet.tck.RedisServer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.cache.TieredBlobStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared blob tier against a real redis-server: chunking, caps, eviction and corruption. */
class RedisBlobStoreTest {
  static RedisServer server;
  @TempDir Path dir;
  private RedisStateBackend backend;
  private RedisBlobStore shared;
  private DiskBlobStore a;
  private DiskBlobStore b;
  /** The local store a in front of Redis, and b: two masters sharing the tier. */
  private TieredBlobStore toA;
  private TieredBlobStore toB;
  private String prefix;

  @BeforeAll
  static void startRedis() throws Exception {
    server = RedisServer.start();
  }

  @AfterAll
  static void stopRedis() throws Exception {
    server.stop();
  }

  @BeforeEach
  void open() {
    prefix = "blobs-" + UUID.randomUUID() + ":";
    backend = server.backend(prefix).open();
    shared = RedisBlobStore.on(backend, 100_000, 4096);
    a = new DiskBlobStore(dir.resolve("a"), HashProvider.xxh64(), Clock.systemUTC());
    b = new DiskBlobStore(dir.resolve("b"), HashProvider.xxh64(), Clock.systemUTC());
    toA = new TieredBlobStore(a, shared);
    toB = new TieredBlobStore(b, shared);
  }

  @AfterEach
  void close() {
    backend.close();
  }

  @Test
  void smallAndChunkedBlobs_roundTripBetweenTwoLocalStores() throws Exception {
    for (int size : new int[] {0, 10, 4096, 4097, 50_000}) {
      byte[] bytes = random(size);
      Digest d = a.putBytes(bytes);
      assertTrue(toA.push(d), "size " + size);
      assertTrue(shared.has(d));
      assertTrue(toB.fill(d, -1), "size " + size);
      assertArrayEquals(bytes, b.readVerified(d).orElseThrow(), "size " + size);
    }
  }

  @Test
  void blobOverTheCap_isNotStored() throws Exception {
    Digest d = a.putBytes(random(100_001));
    assertFalse(toA.push(d));
    assertFalse(shared.has(d));
    assertFalse(toB.fill(d, -1));
  }

  @Test
  void evictedChunk_makesTheBlobAbsentAndDeletesItsRest() throws Exception {
    Digest d = a.putBytes(random(10_000)); // three chunks
    toA.push(d);
    assertEquals(":1", server.command("DEL", prefix + "blob:" + d + ":1"));
    assertFalse(toB.fill(d, -1));
    assertFalse(b.contains(d));
    assertFalse(shared.has(d), "the header is gone, so the next push uploads it again");
    assertTrue(toA.push(d));
    assertTrue(toB.fill(d, -1));
  }

  @Test
  void corruptBytesInRedis_areNeverServedAndAreDeleted() throws Exception {
    Digest d = a.putBytes(random(100));
    toA.push(d);
    server.command("SET", prefix + "blob:" + d, "Igarbage");
    assertFalse(toB.fill(d, -1));
    assertFalse(b.contains(d));
    assertFalse(shared.has(d));

    Digest big = a.putBytes(random(9000));
    toA.push(big);
    server.command("SET", prefix + "blob:" + big + ":0", "x".repeat(4096));
    assertFalse(toB.fill(big, -1));
    assertFalse(b.contains(big));
  }

  private static byte[] random(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }
}
