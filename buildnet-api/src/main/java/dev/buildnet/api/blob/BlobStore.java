package dev.buildnet.api.blob;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A content-addressed store of blobs: bytes kept under the {@link Digest} of their content.
 *
 * <p>Implementations in {@code buildnet-impl}: the local disk store ({@code DiskBlobStore}), Redis
 * ({@code RedisBlobStore}, shared by several masters), the master seen over the wire from a worker
 * or client ({@code RemoteBlobs}), a Bazel-style HTTP remote cache ({@code HttpBlobStore}, e.g.
 * the one {@code buildnet-jetty} serves), and {@code TieredBlobStore}, which puts the local disk
 * store in front of a shared one. Every implementation passes the compatibility kit
 * {@code BlobStoreCompatibilityKit} in {@code buildnet-impl}'s test jar.
 *
 * <h2>Trust</h2>
 * A store never trusts what it holds: {@link #open} returns a stream that hashes what it reads and,
 * if the bytes do not match the digest, throws {@link BlobException} ({@link
 * BlobException.Reason#CORRUPT CORRUPT}) instead of reaching the end; the last part of the blob
 * (up to 64 KiB, so all of a small blob) is held back until the whole blob is verified. A reader
 * that writes to a temp file and publishes it only once the stream ended normally therefore never
 * publishes wrong bytes. {@link #put(Digest, InputStream)} stores nothing unless the bytes hash to
 * the expected digest.
 *
 * <h2>Absent versus unreachable</h2>
 * "Absent" ({@code false}, empty) always means the store answered that it lacks the blob (or found
 * it incomplete or corrupt and dropped it). A store that cannot be reached throws ({@link
 * IOException} or a {@link dev.buildnet.api.BuildNetException}); it never answers "absent", so an
 * outage never looks like a cache miss that deletes a cache entry.
 *
 * <h2>Threads</h2>
 * Implementations must be safe for concurrent use, also of the same digest: concurrent puts of the
 * same bytes race harmlessly. Every method may block on I/O. A stream from {@link #open} is for one
 * thread. Misuse (a digest of another algorithm than {@link #hashes()}) throws {@link
 * IllegalArgumentException}. {@link #close()} is idempotent and releases only what the store itself
 * opened.
 *
 * @since 0.1
 */
public interface BlobStore extends AutoCloseable {

  /** A short description for logs and errors, e.g. {@code "disk store /w/.buildnet/cas"}. */
  String name();

  /** The algorithm of every digest this store holds. */
  HashProvider hashes();

  /** Whether the blob looks present (not verified: a later {@link #open} may still find it bad). */
  boolean has(Digest digest) throws IOException;

  /** The blob's size in bytes, or empty if absent (not verified). */
  OptionalLong size(Digest digest) throws IOException;

  /**
   * Opens the blob for streaming, verified as it is read (see the class comment); empty if absent.
   * A blob found corrupt is dropped from the store where the store can do so, and the stream
   * throws {@link BlobException} ({@link BlobException.Reason#CORRUPT CORRUPT}). The caller closes
   * the stream.
   */
  Optional<InputStream> open(Digest digest) throws IOException;

  /**
   * Streams {@code in} (to its end; not closed) into the store under {@code expected}, storing it
   * only if the bytes hash to {@code expected}.
   *
   * @return true if the store holds the blob afterwards; false if it declined it (e.g. larger than
   *     it takes: see {@link #accepts})
   * @throws BlobException ({@link BlobException.Reason#DIGEST_MISMATCH DIGEST_MISMATCH}) if the
   *     bytes hash to something else: nothing is stored
   */
  boolean put(Digest expected, InputStream in) throws IOException;

  /**
   * Streams {@code in} (to its end; not closed) into the store and returns its digest.
   *
   * <p>The default spools the bytes to a temporary file to learn the digest first, then calls
   * {@link #put(Digest, InputStream)}; stores that can hash while they write override it.
   *
   * @throws BlobException ({@link BlobException.Reason#REJECTED REJECTED}) if the store declined
   *     the blob
   */
  default Digest put(InputStream in) throws IOException {
    Path spool = Files.createTempFile("buildnet-blob-", ".part");
    try {
      Hasher hasher = hashes().newHasher();
      try (OutputStream out = Files.newOutputStream(spool)) {
        byte[] chunk = new byte[64 * 1024];
        int n;
        while ((n = in.read(chunk)) != -1) {
          hasher.update(chunk, 0, n);
          out.write(chunk, 0, n);
        }
      }
      Digest digest = hasher.digest();
      try (InputStream spooled = Files.newInputStream(spool)) {
        if (!put(digest, spooled)) {
          throw new BlobException(BlobException.Reason.REJECTED, digest,
              name() + " declined blob " + digest + " (" + Files.size(spool) + " bytes)");
        }
      }
      return digest;
    } finally {
      Files.deleteIfExists(spool);
    }
  }

  /**
   * Whether the store would take a blob of {@code size} bytes; callers that know the size ask
   * first rather than stream a blob the store declines. The default takes any size.
   */
  default boolean accepts(long size) {
    return true;
  }

  /** Releases what the store opened itself (not what it was given); idempotent. */
  @Override
  void close();

  /**
   * Wraps {@code in}, the raw bytes of blob {@code digest}, in a stream that verifies them as
   * described in the class comment: the last chunk is held back until the whole blob hashed to
   * {@code digest}, and a mismatch runs {@code onMismatch} (e.g. to drop the blob; may be null)
   * and throws {@link BlobException} ({@link BlobException.Reason#CORRUPT CORRUPT}) on this and
   * every later read. For implementations.
   */
  static InputStream verifying(InputStream in, Digest digest, HashProvider hashes,
      Runnable onMismatch) {
    return new VerifyingInputStream(in, digest, hashes, onMismatch);
  }
}
