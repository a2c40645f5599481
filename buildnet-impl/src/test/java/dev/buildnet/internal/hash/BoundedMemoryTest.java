package dev.buildnet.internal.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves files and streams are hashed in bounded chunks: a 64 MiB file is hashed in a JVM whose
 * whole heap is 16 MiB, where reading it into one array would fail with OutOfMemoryError.
 */
class BoundedMemoryTest {
  private static final long SIZE = 64L << 20;
  private static final long MAX_HEAP = 16L << 20;

  @TempDir Path dir;

  @Test
  void aFileFourTimesTheHeap_hashesByPathAndStream() throws Exception {
    Path file = dir.resolve("zeros.bin");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(SIZE); // sparse: quick to make, reads as zeros
    }
    Path java = Path.of(System.getProperty("java.home.for.tests", System.getProperty("java.home")),
        "bin", "java");
    Process child =
        new ProcessBuilder(
                java.toString(),
                "-Xmx" + MAX_HEAP,
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                HashLargeFileMain.class.getName(),
                file.toString())
            .redirectErrorStream(true)
            .start();
    String output;
    try {
      child.getOutputStream().close();
      output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not exit");
    } finally {
      child.destroyForcibly();
    }

    assertEquals(0, child.exitValue(), output);
    // From Python: xxhash.xxh64(bytes(64 << 20)) and hashlib.sha256(bytes(64 << 20)).
    String xxh64 = "xxh64:f0b8f2f07c250fa7";
    String sha256 = "sha256:3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351";
    List<String> lines = output.lines().toList();
    assertEquals(List.of(xxh64, xxh64, sha256, sha256), lines.subList(0, 4), output);
    long maxHeap = Long.parseLong(lines.get(4).substring("max heap ".length()));
    assertTrue(maxHeap < SIZE / 2, "the child's heap must be far smaller than the file: " + output);
    assertEquals(SIZE, Files.size(file));
  }
}
