package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.HashProvider;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run by {@link BoundedMemoryTest} in a JVM whose heap is smaller than the file: prints the
 * digests of the file given as the only argument, by path and by stream, one per line.
 */
public final class HashLargeFileMain {
  private HashLargeFileMain() {}

  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    for (HashProvider provider : new HashProvider[] {Hashing.xxh64(), Hashing.sha256()}) {
      System.out.println(provider.hash(file));
      try (InputStream in = Files.newInputStream(file)) {
        System.out.println(provider.hash(in));
      }
    }
    System.out.println("max heap " + Runtime.getRuntime().maxMemory());
  }
}
