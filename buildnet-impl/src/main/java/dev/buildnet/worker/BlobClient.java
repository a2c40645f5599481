package dev.buildnet.worker;


import dev.buildnet.api.hash.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Set;

/**
 * A worker's view of the master's content-addressed blob store. A {@link Worker} downloads the
 * inputs its local store lacks and uploads the outputs the master lacks through it.
 *
 * <p>Implementations must be safe for concurrent use: attempts run in parallel. Every method
 * blocks on the network.
 *
 * @since 0.1
 */
public interface BlobClient {
  /** Those of {@code digests} the master's store lacks. */
  Set<Digest> missing(Collection<Digest> digests) throws IOException;

  /**
   * Writes the blob {@code digest} to {@code destination} (replacing it). The worker verifies the
   * bytes against the digest afterwards.
   *
   * @throws IOException if the master lacks it or the transfer fails
   */
  void download(Digest digest, Path destination) throws IOException;

  /** Stores the file's bytes in the master's store and returns their digest. */
  Digest upload(Path file) throws IOException;
}
