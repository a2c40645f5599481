package dev.buildnet.http;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.cache.BlobStore;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The store behind the Gradle and Bazel cache endpoints: a SHA-256 {@link BlobStore} (Bazel's CAS
 * is keyed by SHA-256, BuildNet's own store by xxh64) plus small files mapping opaque keys (Gradle
 * keys, Bazel action-cache hashes) to blob digests. Thread-safe: blobs and key files are published
 * by atomic rename, so a reader sees a whole value or none; the last writer of a key wins.
 */
final class HttpCacheStore {
  /** A readable entry. */
  record Entry(InputStream in, long size) {}

  private final BlobStore blobs;
  private final Path keys;
  private final long maxEntryBytes;
  private final long maxTotalBytes;
  /** Bytes stored, approximately: counted up on each put, re-read from disk by each eviction. */
  private final AtomicLong storedBytes = new AtomicLong();
  private final AtomicBoolean evicting = new AtomicBoolean();
  final AtomicLong hits = new AtomicLong();
  final AtomicLong misses = new AtomicLong();
  final AtomicLong puts = new AtomicLong();
  final AtomicLong bytesIn = new AtomicLong();
  final AtomicLong bytesOut = new AtomicLong();
  final AtomicLong rejected = new AtomicLong();

  HttpCacheStore(Path dir, long maxEntryBytes, long maxTotalBytes, Clock clock) {
    this.blobs = new BlobStore(dir.resolve("cas"), HashProvider.sha256(), clock);
    this.keys = dir.resolve("keys");
    this.maxEntryBytes = maxEntryBytes;
    this.maxTotalBytes = maxTotalBytes;
    try {
      Files.createDirectories(dir.resolve("cas"));
      Files.createDirectories(keys);
      storedBytes.set(blobs.totalBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the HTTP cache in " + dir, e);
    }
  }

  long maxEntryBytes() {
    return maxEntryBytes;
  }

  static Digest sha256(String hex) {
    return Digest.of("sha256", hex);
  }

  /** The blob with this SHA-256, if present. */
  Optional<Entry> getBlob(Digest digest) throws IOException {
    Optional<Long> size = blobs.sizeOf(digest);
    Optional<InputStream> in = size.isPresent() ? blobs.openUnverified(digest) : Optional.empty();
    count(in.isPresent());
    return in.map(s -> new Entry(s, size.get()));
  }

  Optional<Long> sizeOfBlob(Digest digest) {
    Optional<Long> size = blobs.sizeOf(digest);
    count(size.isPresent());
    return size;
  }

  /**
   * Stores the body if it hashes to {@code expected}.
   *
   * @throws dev.buildnet.cache.DigestMismatchException if it does not
   * @throws HttpError 413 past the size limit
   */
  void putBlob(Digest expected, InputStream body) throws IOException {
    if (blobs.putVerified(limited(body), expected)) {
      stored(blobs.sizeOf(expected).orElse(0L));
    }
    puts.incrementAndGet();
  }

  /**
   * Counts a new blob and, past the cap, evicts the least recently used blobs down to 90% of it
   * (on the putting thread, one eviction at a time). Keys whose blob was evicted become misses.
   */
  private void stored(long bytes) throws IOException {
    if (storedBytes.addAndGet(bytes) <= maxTotalBytes || !evicting.compareAndSet(false, true)) {
      return;
    }
    try {
      blobs.evictTo(maxTotalBytes - maxTotalBytes / 10);
      storedBytes.set(blobs.totalBytes());
    } finally {
      evicting.set(false);
    }
  }

  /** The value stored under {@code key} in {@code namespace}, if any. */
  Optional<Entry> get(String namespace, String key) throws IOException {
    Path file = keys.resolve(namespace).resolve(key);
    Optional<Entry> found = Optional.empty();
    try {
      Digest d = Digest.parse(Files.readString(file, StandardCharsets.UTF_8).strip());
      Optional<Long> size = blobs.sizeOf(d);
      if (size.isPresent()) {
        found = blobs.openUnverified(d).map(in -> new Entry(in, size.get()));
      }
    } catch (NoSuchFileException e) {
      // a miss
    }
    count(found.isPresent());
    return found;
  }

  /** Stores the body as the value of {@code key} in {@code namespace}. */
  void put(String namespace, String key, InputStream body) throws IOException {
    long before = storedBytes.get();
    Digest d = blobs.put(limited(body));
    Path dir = keys.resolve(namespace);
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".put-", ".tmp");
    try {
      Files.writeString(tmp, d.toString(), StandardCharsets.UTF_8);
      try {
        Files.move(tmp, dir.resolve(key), StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, dir.resolve(key), StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    puts.incrementAndGet();
    stored(before == storedBytes.get() ? blobs.sizeOf(d).orElse(0L) : 0L);
  }

  /** Blob count and bytes; walks the store. */
  long[] entriesAndBytes() throws IOException {
    var all = blobs.entries();
    return new long[] {all.size(), all.stream().mapToLong(BlobStore.Entry::size).sum()};
  }

  private void count(boolean hit) {
    (hit ? hits : misses).incrementAndGet();
  }

  private InputStream limited(InputStream in) {
    return new FilterInputStream(in) {
      private long seen;

      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
          add(1);
        }
        return b;
      }

      @Override
      public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n > 0) {
          add(n);
        }
        return n;
      }

      private void add(long n) {
        seen += n;
        bytesIn.addAndGet(n);
        if (seen > maxEntryBytes) {
          rejected.incrementAndGet();
          throw Http.tooLarge(maxEntryBytes);
        }
      }
    };
  }
}
