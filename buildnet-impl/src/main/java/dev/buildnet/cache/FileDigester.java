package dev.buildnet.cache;

import dev.buildnet.api.hash.Digest;
import java.io.IOException;
import java.nio.file.Path;

/** The content digest of a file; in the engine, backed by a stat cache. */
@FunctionalInterface
public interface FileDigester {
  Digest digest(Path file) throws IOException;
}
