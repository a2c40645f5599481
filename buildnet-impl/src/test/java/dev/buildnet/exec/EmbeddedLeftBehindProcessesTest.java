package dev.buildnet.exec;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.internal.exec.LinuxProcfs;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.internal.state.ChildJvm;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No process a command started outlives it in an embedding host's JVM, which is not a subreaper
 * (the provider's default): an orphan goes to init or to some other subreaper, so only its mark
 * finds it, among the pids handed out since the command started. Each case runs in a JVM of its
 * own, since the test JVM becomes a subreaper as soon as any test runs a command the CLI's way.
 */
class EmbeddedLeftBehindProcessesTest {
  @TempDir Path dir;

  @BeforeAll
  static void linuxOnly() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
  }

  @Test
  void doubleForkedSleeper_isGone_afterTheCommandExits() throws Exception {
    // The subshell forks the sleeper and exits at once, so the sleeper is orphaned while the
    // command is still running; its output goes elsewhere, so no pipe gives it away.
    long left = runInEmbeddedJvm(
        "(sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > left.pid); exit 0");

    awaitNotRunning(left);
  }

  @Test
  void setsidDaemon_isGone_afterTheCommandExits() throws Exception {
    long left = runInEmbeddedJvm(
        "setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > left.pid' "
            + "</dev/null >/dev/null 2>&1 & "
            + "while [ ! -s left.pid ]; do sleep 0.01; done; exit 0");

    awaitNotRunning(left);
  }

  /** Runs {@code script} in a fresh JVM's provider; the pid the script left in {@code left.pid}. */
  private long runInEmbeddedJvm(String script) throws Exception {
    try (ChildJvm child = ChildJvm.start(dir, EmbeddedDaemonMain.class, dir.toString(), script)) {
      assertEquals("exit 0", child.nextLine(60), child.diagnostics());
      String left = child.nextLine(30);
      assertNotNull(left, child.diagnostics());
      assertTrue(left.startsWith("left "), left);
      assertEquals(0, child.waitFor(30), child.diagnostics());
      return Long.parseLong(left.substring("left ".length()));
    }
  }

  /**
   * The result is in only once the tree is stopped, so the process is gone by now; the poll only
   * tolerates a slow /proc. A zombie counts as gone: it has ended and waits for whichever process
   * adopted it to reap it.
   */
  private static void awaitNotRunning(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (Pids.isRunning(pid)) {
      assertTrue(System.nanoTime() - deadline < 0, "pid " + pid + " is still running");
      Thread.sleep(20);
    }
  }
}
