package dev.buildnet.redis;

import static java.nio.charset.StandardCharsets.US_ASCII;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.cache.BlobStore;
import dev.buildnet.cache.DigestMismatchException;
import dev.buildnet.cache.SharedBlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The content-addressed blobs of the action cache, kept in Redis so that several masters share
 * them (a {@link SharedBlobStore} behind each master's local {@link BlobStore}).
 *
 * <h2>Layout</h2>
 * A blob of at most {@code chunkBytes} is one value, {@code <prefix>blob:<digest>}, holding a
 * one-byte tag and the bytes. A larger one is split into chunks {@code <prefix>blob:<digest>:<i>},
 * written first, and a header under {@code <prefix>blob:<digest>} naming its size and chunk count,
 * written last; so no Redis value is ever larger than a chunk (1 MiB by default), and a blob
 * without its header is invisible. Blobs larger than {@code maxBlobBytes} are not stored at all.
 *
 * <h2>Size cap and eviction</h2>
 * Blobs carry no TTL: the size cap is Redis's own {@code maxmemory} with an {@code allkeys-lru}
 * (or {@code allkeys-lfu}) policy, which may evict any chunk or header at any time. A reader
 * therefore trusts nothing it reads: every fetch is verified against the digest, and a blob found
 * incomplete or corrupt is deleted (so the next push uploads it again) and reported absent.
 *
 * <p>Thread-safe; shares the connection pool of the {@link RedisStateBackend} it was made from
 * (close that to release it). Every method blocks on Redis round trips: one per chunk.
 *
 * @since 0.1
 */
public final class RedisBlobStore implements SharedBlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(RedisBlobStore.class);
  private static final byte INLINE = 'I';
  private static final byte CHUNKED = 'C';
  /** Default largest blob stored. */
  public static final long DEFAULT_MAX_BLOB_BYTES = 64L * 1024 * 1024;
  /** Default largest Redis value written. */
  public static final int DEFAULT_CHUNK_BYTES = 1024 * 1024;

  private final RedisStateBackend backend;
  private final String prefix;
  private final long maxBlobBytes;
  private final int chunkBytes;

  private RedisBlobStore(RedisStateBackend backend, long maxBlobBytes, int chunkBytes) {
    this.backend = backend;
    this.prefix = backend.prefix() + "blob:";
    this.maxBlobBytes = maxBlobBytes;
    this.chunkBytes = chunkBytes;
  }

  /** Blobs under {@code backend}'s prefix, with the default caps (64 MiB blobs, 1 MiB chunks). */
  public static RedisBlobStore on(RedisStateBackend backend) {
    return on(backend, DEFAULT_MAX_BLOB_BYTES, DEFAULT_CHUNK_BYTES);
  }

  /**
   * Blobs under {@code backend}'s prefix, storing none larger than {@code maxBlobBytes} and no
   * Redis value larger than {@code chunkBytes}.
   */
  public static RedisBlobStore on(RedisStateBackend backend, long maxBlobBytes, int chunkBytes) {
    if (backend == null) {
      throw new IllegalArgumentException("backend must not be null");
    }
    if (maxBlobBytes < 0) {
      throw new IllegalArgumentException("maxBlobBytes must not be negative but was "
          + maxBlobBytes);
    }
    if (chunkBytes < 1024) {
      throw new IllegalArgumentException("chunkBytes must be at least 1024 but was " + chunkBytes);
    }
    return new RedisBlobStore(backend, maxBlobBytes, chunkBytes);
  }

  @Override
  public String name() {
    return backend.name() + "blob:";
  }

  @Override
  public boolean contains(Digest digest) {
    byte[] key = header(digest);
    return backend.connection().call("exists of blob " + digest, true, j -> j.exists(key));
  }

  @Override
  public boolean fetch(Digest digest, BlobStore local) throws IOException {
    RedisConnection redis = backend.connection();
    byte[] head = redis.call("fetch of blob " + digest, true, j -> j.get(header(digest)));
    if (head == null || head.length == 0) {
      return false;
    }
    if (head[0] == INLINE) {
      byte[] bytes = Arrays.copyOfRange(head, 1, head.length);
      if (!local.hashes().hash(bytes).equals(digest)) {
        return dropCorrupt(digest, 0, "its bytes hash to something else");
      }
      try (BlobStore.Upload upload = local.openUpload()) {
        upload.write(bytes, 0, bytes.length);
        upload.publish(digest);
      }
      return true;
    }
    Optional<long[]> parsed = parseHeader(head);
    if (parsed.isEmpty()) {
      return dropCorrupt(digest, 0, "its header is unreadable");
    }
    long size = parsed.get()[0];
    int chunks = (int) parsed.get()[1];
    try (BlobStore.Upload upload = local.openUpload()) {
      for (int i = 0; i < chunks; i++) {
        byte[] key = chunk(digest, i);
        byte[] bytes = redis.call("fetch of blob " + digest + " chunk " + i, true, j -> j.get(key));
        if (bytes == null) {
          return dropCorrupt(digest, chunks, "chunk " + i + " of " + chunks + " was evicted");
        }
        upload.write(bytes, 0, bytes.length);
      }
      if (upload.size() != size) {
        return dropCorrupt(digest, chunks, "it has " + upload.size() + " bytes, not " + size);
      }
      try {
        upload.publish(digest);
      } catch (DigestMismatchException e) {
        return dropCorrupt(digest, chunks, e.getMessage());
      }
      return true;
    }
  }

  @Override
  public boolean push(Digest digest, BlobStore local) throws IOException {
    Optional<Long> size = local.sizeOf(digest);
    if (size.isEmpty() || size.get() > maxBlobBytes) {
      return false;
    }
    RedisConnection redis = backend.connection();
    byte[] head = header(digest);
    if (redis.call("exists of blob " + digest, true, j -> j.exists(head))) {
      return true;
    }
    Optional<InputStream> opened = local.openUnverified(digest);
    if (opened.isEmpty()) {
      return false;
    }
    try (InputStream in = opened.get()) {
      Hasher hasher = local.hashes().newHasher();
      if (size.get() <= chunkBytes) {
        byte[] bytes = in.readAllBytes();
        hasher.update(bytes, 0, bytes.length);
        if (!hasher.digest().equals(digest)) {
          local.discard(digest); // corrupt on our disk: never share it
          return false;
        }
        byte[] value = new byte[bytes.length + 1];
        value[0] = INLINE;
        System.arraycopy(bytes, 0, value, 1, bytes.length);
        redis.call("push of blob " + digest, true, j -> j.set(head, value));
        return true;
      }
      int chunks = 0;
      long total = 0;
      byte[] buffer = new byte[chunkBytes];
      int n;
      while ((n = in.readNBytes(buffer, 0, chunkBytes)) > 0) {
        hasher.update(buffer, 0, n);
        byte[] piece = Arrays.copyOf(buffer, n);
        byte[] key = chunk(digest, chunks);
        redis.call("push of blob " + digest + " chunk " + chunks, true, j -> j.set(key, piece));
        chunks++;
        total += n;
      }
      if (!hasher.digest().equals(digest) || total != size.get()) {
        deleteChunks(digest, chunks);
        local.discard(digest);
        return false;
      }
      byte[] value = ((char) CHUNKED + Long.toString(total) + " " + chunks).getBytes(US_ASCII);
      redis.call("push of blob " + digest, true, j -> j.set(head, value));
      return true;
    }
  }

  /** Deletes a blob found broken, so the next push stores it again; always returns false. */
  private boolean dropCorrupt(Digest digest, int chunks, String why) {
    LOG.info("{}: blob {} is unusable ({}); deleting it", name(), digest, why);
    deleteChunks(digest, chunks);
    byte[] head = header(digest);
    backend.connection().call("delete of blob " + digest, true, j -> j.del(head));
    return false;
  }

  private void deleteChunks(Digest digest, int chunks) {
    if (chunks == 0) {
      return;
    }
    List<byte[]> keys = new ArrayList<>(chunks);
    for (int i = 0; i < chunks; i++) {
      keys.add(chunk(digest, i));
    }
    backend.connection().call("delete of blob " + digest + " chunks", true,
        j -> j.del(keys.toArray(new byte[0][])));
  }

  private static Optional<long[]> parseHeader(byte[] head) {
    if (head[0] != CHUNKED) {
      return Optional.empty();
    }
    String[] parts = new String(head, 1, head.length - 1, US_ASCII).split(" ");
    try {
      long size = Long.parseLong(parts[0]);
      long chunks = Long.parseLong(parts[1]);
      if (parts.length != 2 || size < 0 || chunks < 1 || chunks > Integer.MAX_VALUE) {
        return Optional.empty();
      }
      return Optional.of(new long[] {size, chunks});
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private byte[] header(Digest digest) {
    return (prefix + digest).getBytes(US_ASCII);
  }

  private byte[] chunk(Digest digest, int index) {
    return (prefix + digest + ":" + index).getBytes(US_ASCII);
  }
}
