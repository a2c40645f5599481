package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The provider's own pipes name themselves as {@code /proc} names them on a child that holds
 * them, so that the hunt for their holders needs no read of the child's {@code /proc} entry
 * (which is empty once the child has exited).
 */
class OutputPipesTest {
  @TempDir Path dir;

  @BeforeAll
  static void posixSpawnAvailable() {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
  }

  @Test
  void identities_areWhatProcShowsOnTheChildsStdoutAndStderr() throws Exception {
    OutputPipes pipes = OutputPipes.open();
    assertNotNull(pipes);
    Process child = SpawnedProcessTest.startInto(pipes, List.of("/bin/sleep", "1000"), dir);
    try {
      Set<String> fromProc = new LinuxProcfs().outputPipes(child.pid());

      assertEquals(2, fromProc.size(), fromProc.toString());
      assertEquals(fromProc, pipes.identities());
    } finally {
      child.destroyForcibly();
      child.waitFor();
      pipes.close();
    }
  }
}
