package dev.buildnet.internal.exec;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child started by {@link PosixSpawn} is this JVM's to reap, and only once its status is read:
 * the subreaper's reaping of adopted orphans (which {@link ZombieSweeper} also goes through) must
 * leave it alone, however long it has been a zombie.
 */
class SpawnedProcessTest {
  @TempDir Path dir;

  @BeforeAll
  static void posixSpawnAvailable() {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
  }

  private Process spawn(String script) throws IOException {
    OutputPipes pipes = OutputPipes.open();
    assertNotNull(pipes);
    try {
      return PosixSpawn.start(List.of("/bin/sh", "-c", script), dir, Map.of(), pipes);
    } finally {
      pipes.close();
    }
  }

  /** Waits (bounded, as a failure bound only) until {@code pid} is a zombie: exited, unreaped. */
  /**
   * Starts {@code argv} with its output going to {@code pipes}, left for the caller to read; this
   * side's copies of the child's ends are closed whatever happens, as the provider does.
   */
  static Process startInto(OutputPipes pipes, List<String> argv, Path dir) throws IOException {
    try {
      return PosixSpawn.start(argv, dir, Map.of(), pipes);
    } finally {
      pipes.started();
    }
  }

  static void awaitZombie(long pid) throws Exception {
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (true) {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      if (stat.charAt(stat.lastIndexOf(')') + 2) == 'Z') {
        return;
      }
      assertTrue(System.nanoTime() - deadline < 0, "pid " + pid + " never exited");
      Thread.sleep(5);
    }
  }

  @Test
  void anExitedChild_isNotReapedByTheSubreaper_andItsStatusIsKept() throws Exception {
    LinuxNative natives = LinuxNative.get();
    assertNotNull(natives, "the tests' JVM can be a subreaper");
    Process p = spawn("exit 7");
    awaitZombie(p.pid());

    natives.reap(p.pid());
    assertTrue(Files.exists(Path.of("/proc/" + p.pid())), "reaped behind the process's back");

    assertEquals(7, p.waitFor());
    assertEquals(7, p.exitValue());
    assertFalse(p.isAlive());
    assertFalse(Files.exists(Path.of("/proc/" + p.pid())), "not reaped by waitFor");
    assertFalse(SpawnedProcess.ownsUnreaped(p.pid()));
  }

  @Test
  void destroy_signalsThroughThePidfd_andAfterTheReapIsHarmless() throws Exception {
    Process p = spawn("sleep 1000");
    assertTrue(p.isAlive());

    p.destroyForcibly();
    assertEquals(128 + 9, p.waitFor());
    p.destroy(); // the pidfd is closed: nothing to signal, whoever has the pid now
    assertEquals(128 + 9, p.exitValue());
  }

  @Test
  void theChildsHandle_isTakenWhileItIsOurs() throws Exception {
    Process p = spawn("exit 0");
    assertEquals(p.pid(), p.toHandle().pid());
    assertEquals(0, p.waitFor());
  }
}
