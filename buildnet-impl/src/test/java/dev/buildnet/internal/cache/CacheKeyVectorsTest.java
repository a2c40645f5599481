package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The committed key vectors are what the Java engine computes (the Python master checks them too). */
class CacheKeyVectorsTest {
  private static final Path FILE = Path.of("..", "docs", "cache-key-vectors.json");

  @Test
  void theCommittedKeyVectorsAreWhatTheEngineComputes() throws Exception {
    // A change to the key must regenerate the file deliberately (see CacheKeyVectorsGenerator).
    assertEquals(CacheKeyVectorsGenerator.render(), Files.readString(FILE));
  }
}
