package dev.buildnet.redis;

import dev.buildnet.internal.redis.RedisConnection;

import static java.nio.charset.StandardCharsets.US_ASCII;

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
 * therefore trusts nothing it reads: every read is verified against the digest, and a blob found
 * incomplete or corrupt is deleted (so the next put uploads it again) and the reading stream throws
 * {@link BlobException} ({@code CORRUPT}).
 *
 * <p>Thread-safe; shares the connection pool of the {@link RedisStateBackend} it was made from
 * (close that to release it). Every method blocks on Redis round trips: one per chunk.
 *
 * @since 0.1
 */
public final class RedisBlobStore implements BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(RedisBlobStore.class);
  private static final byte INLINE = 'I';
  private static final byte CHUNKED = 'C';
  /** Default largest blob stored. */
  public static final long DEFAULT_MAX_BLOB_BYTES = 64L * 1024 * 1024;
  /** Default largest Redis value written. */
  public static final int DEFAULT_CHUNK_BYTES = 1024 * 1024;

  private final RedisStateBackend backend;
  private final HashProvider hashes;
  private final String prefix;
  private final long maxBlobBytes;
  private final int chunkBytes;

  private RedisBlobStore(RedisStateBackend backend, HashProvider hashes, long maxBlobBytes,
      int chunkBytes) {
    this.backend = backend;
    this.hashes = hashes;
    this.prefix = backend.prefix() + "blob:";
    this.maxBlobBytes = maxBlobBytes;
    this.chunkBytes = chunkBytes;
  }

  /**
   * XXH64 blobs (BuildNet's default hash) under {@code backend}'s prefix, with the default caps
   * (64 MiB blobs, 1 MiB chunks).
   */
  public static RedisBlobStore on(RedisStateBackend backend) {
    return on(backend, HashProvider.xxh64(), DEFAULT_MAX_BLOB_BYTES, DEFAULT_CHUNK_BYTES);
  }

  /** XXH64 blobs; see {@link #on(RedisStateBackend, HashProvider, long, int)}. */
  public static RedisBlobStore on(RedisStateBackend backend, long maxBlobBytes, int chunkBytes) {
    return on(backend, HashProvider.xxh64(), maxBlobBytes, chunkBytes);
  }

  /**
   * Blobs of {@code hashes}'s algorithm under {@code backend}'s prefix, storing none larger than
   * {@code maxBlobBytes} and no Redis value larger than {@code chunkBytes}.
   */
  public static RedisBlobStore on(RedisStateBackend backend, HashProvider hashes,
      long maxBlobBytes, int chunkBytes) {
    if (backend == null) {
      throw new IllegalArgumentException("backend must not be null");
    }
    if (hashes == null) {
      throw new IllegalArgumentException("hashes must not be null");
    }
    if (maxBlobBytes < 0) {
      throw new IllegalArgumentException("maxBlobBytes must not be negative but was "
          + maxBlobBytes);
    }
    if (chunkBytes < 1024) {
      throw new IllegalArgumentException("chunkBytes must be at least 1024 but was " + chunkBytes);
    }
    return new RedisBlobStore(backend, hashes, maxBlobBytes, chunkBytes);
  }

  @Override
  public String name() {
    return backend.name() + "blob:";
  }

  @Override
  public HashProvider hashes() {
    return hashes;
  }

  @Override
  public boolean accepts(long size) {
    return size <= maxBlobBytes;
  }

  @Override
  public boolean has(Digest digest) {
    checkAlgorithm(digest);
    byte[] key = header(digest);
    return backend.connection().call("exists of blob " + digest, true, j -> j.exists(key));
  }

  /** Reads the header (for a blob stored inline, the whole blob: at most a chunk). */
  @Override
  public OptionalLong size(Digest digest) {
    checkAlgorithm(digest);
    byte[] head = backend.connection().call("size of blob " + digest, true,
        j -> j.get(header(digest)));
    if (head == null || head.length == 0) {
      return OptionalLong.empty();
    }
    if (head[0] == INLINE) {
      return OptionalLong.of(head.length - 1L);
    }
    Optional<long[]> parsed = parseHeader(head);
    return parsed.isEmpty() ? OptionalLong.empty() : OptionalLong.of(parsed.get()[0]);
  }

  /**
   * Streams the blob chunk by chunk (one round trip each), verified; a blob found incomplete (a
   * chunk evicted) or corrupt is deleted, so the next put stores it again, and the stream throws.
   */
  @Override
  public Optional<InputStream> open(Digest digest) {
    checkAlgorithm(digest);
    RedisConnection redis = backend.connection();
    byte[] head = redis.call("fetch of blob " + digest, true, j -> j.get(header(digest)));
    if (head == null || head.length == 0) {
      return Optional.empty();
    }
    if (head[0] == INLINE) {
      InputStream raw = new ByteArrayInputStream(head, 1, head.length - 1);
      return Optional.of(BlobStore.verifying(raw, digest, hashes,
          () -> dropCorrupt(digest, 0, "its bytes hash to something else")));
    }
    Optional<long[]> parsed = parseHeader(head);
    if (parsed.isEmpty()) {
      dropCorrupt(digest, 0, "its header is unreadable");
      return Optional.empty();
    }
    int chunks = (int) parsed.get()[1];
    InputStream raw = new ChunkStream(digest, chunks);
    return Optional.of(BlobStore.verifying(raw, digest, hashes,
        () -> dropCorrupt(digest, chunks, "its bytes do not match its digest")));
  }

  /** The chunks of a blob, fetched one at a time as they are read. */
  private final class ChunkStream extends InputStream {
    private final Digest digest;
    private final int chunks;
    private int index;
    private byte[] chunk = new byte[0];
    private int pos;

    ChunkStream(Digest digest, int chunks) {
      this.digest = digest;
      this.chunks = chunks;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      while (pos == chunk.length) {
        if (index == chunks) {
          return -1;
        }
        int i = index++;
        byte[] key = chunk(digest, i);
        byte[] bytes = backend.connection().call("fetch of blob " + digest + " chunk " + i, true,
            j -> j.get(key));
        if (bytes == null) {
          dropCorrupt(digest, chunks, "chunk " + i + " of " + chunks + " was evicted");
          throw new BlobException(BlobException.Reason.CORRUPT, digest, "blob " + digest + " in "
              + name() + " is incomplete: chunk " + i + " of " + chunks + " was evicted");
        }
        chunk = bytes;
        pos = 0;
      }
      int n = Math.min(len, chunk.length - pos);
      System.arraycopy(chunk, pos, b, off, n);
      pos += n;
      return n;
    }
  }

  /**
   * Stores the blob inline or in chunks, header last; verifies it first (a blob already stored is
   * still read and hashed, so that wrong bytes always fail). Reads no further once the blob
   * exceeds {@code maxBlobBytes}, and returns false.
   */
  @Override
  public boolean put(Digest expected, InputStream in) throws IOException {
    checkAlgorithm(expected);
    RedisConnection redis = backend.connection();
    byte[] head = header(expected);
    Hasher hasher = hashes.newHasher();
    if (redis.call("exists of blob " + expected, true, j -> j.exists(head))) {
      byte[] buffer = new byte[64 * 1024];
      long total = 0;
      int n;
      while ((n = in.read(buffer)) != -1) {
        hasher.update(buffer, 0, n);
        total += n;
      }
      Digest actual = hasher.digest();
      if (!actual.equals(expected)) {
        throw BlobException.digestMismatch(expected, actual, total);
      }
      return true;
    }
    byte[] first = in.readNBytes(chunkBytes);
    byte[] more = first.length < chunkBytes ? new byte[0] : in.readNBytes(chunkBytes);
    if (more.length == 0) {
      if (first.length > maxBlobBytes) {
        return false;
      }
      hasher.update(first);
      Digest actual = hasher.digest();
      if (!actual.equals(expected)) {
        throw BlobException.digestMismatch(expected, actual, first.length);
      }
      byte[] value = new byte[first.length + 1];
      value[0] = INLINE;
      System.arraycopy(first, 0, value, 1, first.length);
      redis.call("put of blob " + expected, true, j -> j.set(head, value));
      return true;
    }
    int chunks = 0;
    long total = 0;
    byte[] piece = first;
    boolean done = false;
    try {
      while (piece.length > 0) {
        if (total + piece.length > maxBlobBytes) {
          return false;
        }
        hasher.update(piece);
        byte[] key = chunk(expected, chunks);
        byte[] value = piece;
        redis.call("put of blob " + expected + " chunk " + chunks, true, j -> j.set(key, value));
        chunks++;
        total += piece.length;
        piece = more;
        more = piece.length == 0 ? piece : in.readNBytes(chunkBytes);
      }
      Digest actual = hasher.digest();
      if (!actual.equals(expected)) {
        throw BlobException.digestMismatch(expected, actual, total);
      }
      byte[] value = ((char) CHUNKED + Long.toString(total) + " " + chunks).getBytes(US_ASCII);
      redis.call("put of blob " + expected, true, j -> j.set(head, value));
      done = true;
      return true;
    } finally {
      if (!done) {
        deleteChunks(expected, chunks);
      }
    }
  }

  /** Shares the connection pool of the backend it was made from: closing that releases it. */
  @Override
  public void close() {
    // Nothing of its own to release.
  }

  private void checkAlgorithm(Digest digest) {
    if (!digest.algorithm().equals(hashes.algorithm())) {
      throw new IllegalArgumentException(
          name() + " holds " + hashes.algorithm() + " blobs, not " + digest);
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
