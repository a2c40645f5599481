package dev.buildnet.api.hash;

import dev.buildnet.api.spi.DefaultProviders;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Computes content digests. BuildNet keys its cache and names its blobs with these.
 *
 * <p>Implementations must be safe for concurrent use. Hashing a stream or a file blocks on I/O and
 * reads in bounded chunks: no implementation buffers a whole file in memory.
 *
 * <p>{@link #xxh64()} is fast and non-cryptographic (the default for cache keys on one trusted
 * machine); {@link #sha256()} is cryptographic (what remote caches and untrusted peers need).
 *
 * @since 0.1
 */
public interface HashProvider {

  /** XXH64 with seed 0; digests are 8 bytes, big-endian, written {@code xxh64:<16 hex>}. */
  static HashProvider xxh64() {
    return DefaultProviders.get().xxh64();
  }

  /** SHA-256; digests are 32 bytes, written {@code sha256:<64 hex>}. */
  static HashProvider sha256() {
    return DefaultProviders.get().sha256();
  }

  /** The algorithm name that prefixes every digest this provider makes, e.g. {@code "xxh64"}. */
  String algorithm();

  /** A fresh incremental computation. */
  Hasher newHasher();

  default Digest hash(byte[] bytes) {
    return hash(bytes, 0, bytes.length);
  }

  default Digest hash(byte[] bytes, int offset, int length) {
    return newHasher().update(bytes, offset, length).digest();
  }

  /** Reads {@code in} to its end (it is not closed) and returns the digest of what was read. */
  Digest hash(InputStream in) throws IOException;

  /**
   * The digest of the file's contents, read in bounded chunks.
   *
   * @throws java.nio.file.NoSuchFileException if {@code file} does not exist
   * @throws IOException if it cannot be read, or is a directory
   */
  Digest hash(Path file) throws IOException;
}
