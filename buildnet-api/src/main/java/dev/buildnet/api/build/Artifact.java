package dev.buildnet.api.build;

import dev.buildnet.api.hash.Digest;
import java.util.Objects;

/**
 * A file a build produced.
 *
 * @param path where it is, relative to the workspace root
 * @param sizeBytes its length
 * @param digest its content digest
 * @since 0.1
 */
public record Artifact(String path, long sizeBytes, Digest digest) {
  public Artifact {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(digest, "digest");
    if (sizeBytes < 0) {
      throw new IllegalArgumentException("sizeBytes must not be negative: " + sizeBytes);
    }
  }
}
