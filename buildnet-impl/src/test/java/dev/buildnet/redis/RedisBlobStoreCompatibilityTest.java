package dev.buildnet.redis;

import dev.buildnet.tck.RedisServer;

import static java.nio.charset.StandardCharsets.US_ASCII;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.tck.BlobStoreCompatibilityKit;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** The compatibility kit against Redis (a real redis-server), with small chunks so blobs split. */
class RedisBlobStoreCompatibilityTest extends BlobStoreCompatibilityKit {
  private static final int CHUNK = 64 * 1024;
  static RedisServer server;
  private RedisStateBackend backend;
  private String prefix;

  @BeforeAll
  static void startRedis() throws Exception {
    server = RedisServer.start();
  }

  @AfterAll
  static void stopRedis() throws Exception {
    server.stop();
  }

  @Override
  protected BlobStore createStore() {
    prefix = "kit-" + UUID.randomUUID() + ":";
    backend = server.backend(prefix).open();
    return RedisBlobStore.on(backend, HashProvider.xxh64(), 64L * 1024 * 1024, CHUNK);
  }

  @AfterEach
  void closeBackend() {
    backend.close();
  }

  /** Overwrites the inline value, or each chunk, in place (the header stays). */
  @Override
  protected void corrupt(Digest digest, byte[] bytes) {
    byte[] head = (prefix + "blob:" + digest).getBytes(US_ASCII);
    if (bytes.length <= CHUNK) {
      byte[] value = new byte[bytes.length + 1];
      value[0] = 'I';
      System.arraycopy(bytes, 0, value, 1, bytes.length);
      backend.connection().call("corrupt", true, j -> j.set(head, value));
      return;
    }
    for (int i = 0, at = 0; at < bytes.length; i++, at += CHUNK) {
      byte[] key = (prefix + "blob:" + digest + ":" + i).getBytes(US_ASCII);
      byte[] piece = Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + CHUNK));
      backend.connection().call("corrupt", true, j -> j.set(key, piece));
    }
  }
}
