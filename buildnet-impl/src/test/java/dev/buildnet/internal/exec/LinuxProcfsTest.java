package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LinuxProcfsTest {
  private final LinuxProcfs procfs = new LinuxProcfs();

  /**
   * A process whose environment really is empty is not "between programs": if it were, every
   * stop that met one among its candidates would go on looking until it gave up.
   */
  @Test
  void aProcessWithAnEmptyEnvironment_isNotPending() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    ProcessBuilder builder = new ProcessBuilder("/bin/sh", "-c", "echo up; read x");
    builder.environment().clear();
    Process p = builder.start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      // Printed by the shell itself, so its exec is over.
      assertEquals("up", out.readLine());

      assertEquals(
          Boolean.FALSE,
          procfs.environmentHolds(p.pid(), List.of("BUILDNET_TARGET_TOKEN=x")),
          "its environment is empty, not pending");
    } finally {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aRunningProgram_andAGoneOne_areNotPending() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    assertEquals(
        Boolean.FALSE,
        procfs.environmentHolds(ProcessHandle.current().pid(), List.of("BUILDNET_NO_SUCH=x")));

    Process p = new ProcessBuilder("/bin/true").start();
    p.waitFor(30, TimeUnit.SECONDS);
    assertEquals(
        Boolean.FALSE,
        procfs.environmentHolds(p.pid(), List.of("BUILDNET_NO_SUCH=x")),
        "reaped: nothing to wait for");
  }
}
