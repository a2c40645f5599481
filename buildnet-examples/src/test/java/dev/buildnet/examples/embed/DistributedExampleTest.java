package dev.buildnet.examples.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's distributed example runs as written and its worker builds both targets. */
class DistributedExampleTest {
  @TempDir Path dir;

  @Test
  void theWorkerBuildsWhatTheClientSubmitted() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    boolean ok = DistributedExample.run(dir, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(ok, out);
    assertTrue(out.contains("success: true, executed 2"), out);
    assertTrue(out.contains("target_finished shout built"), out);
    assertEquals("4", Files.readString(dir.resolve("out/count.txt")).trim());
    assertEquals("HELLO FROM THE WORKER\n", Files.readString(dir.resolve("out/shout.txt")));
  }
}
