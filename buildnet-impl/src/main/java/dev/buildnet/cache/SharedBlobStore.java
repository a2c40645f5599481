package dev.buildnet.cache;

import dev.buildnet.api.hash.Digest;
import java.io.IOException;

/**
 * A second tier of blobs behind the local {@link BlobStore}, shared by several masters (e.g.
 * {@code dev.buildnet.redis.RedisBlobStore}). The {@link ActionCache} pushes a run's blobs here
 * before it records the manifest that names them, and on a local miss fetches them from here into
 * the local store, verifying each against its digest; a manifest is a hit only if every blob it
 * names is in one tier or the other and verifies.
 *
 * <p>Implementations must be safe for concurrent use, also by other processes; every method may
 * block on the network. A failure to reach the store throws (a {@link
 * dev.buildnet.api.state.StateException} or an {@link IOException}); "absent" is never used to mean
 * "unreachable", so an outage never makes a cache entry look dangling.
 *
 * @since 0.1
 */
public interface SharedBlobStore {
  /** A short name for logs and errors. */
  String name();

  /** Whether the blob looks present (not verified; a later fetch may still find it incomplete). */
  boolean contains(Digest digest) throws IOException;

  /**
   * Copies the blob into {@code local}, verifying its digest on the way.
   *
   * @return true if {@code local} now holds it; false if the shared store lacks it, or holds only
   *     part of it or corrupt bytes (which it then deletes)
   */
  boolean fetch(Digest digest, BlobStore local) throws IOException;

  /**
   * Uploads the blob from {@code local} unless the shared store has it already.
   *
   * @return true if the shared store holds it afterwards; false if it was not stored (larger than
   *     the store accepts, absent or corrupt locally)
   */
  boolean push(Digest digest, BlobStore local) throws IOException;
}
