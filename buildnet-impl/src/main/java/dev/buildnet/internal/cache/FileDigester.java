package dev.buildnet.internal.cache;

import dev.buildnet.api.hash.Digest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The content digest of a file, e.g. {@code hashProvider::hash} or a stat-caching digest cache.
 * {@link CacheKeyBuilder} calls it for every input file, possibly from several threads at once, so
 * implementations must be safe for concurrent use. It blocks on reading the file.
 *
 * @since 0.1
 */
@FunctionalInterface
public interface FileDigester {
  /**
   * The digest of {@code file}'s contents.
   *
   * @param file an absolute path to a regular file (or a link to one)
   * @throws IOException if it cannot be read
   */
  Digest digest(Path file) throws IOException;
}
