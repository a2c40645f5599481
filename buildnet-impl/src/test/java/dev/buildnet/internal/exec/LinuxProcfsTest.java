package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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

  /**
   * A process that keeps exec'ing with a large, marked environment is caught, now and then, while
   * the kernel lays its environment out (reads empty), or while an exec replaces the memory a
   * read had begun on (reads cut short). Neither may be taken for "not marked": that is how a
   * daemon caught mid-exec escaped its command's stop on a loaded machine. The answer may be
   * "cannot tell yet", never a wrong "no".
   */
  @Test
  void aProcessExecingWithAMarkedEnvironment_isNeverSaidToBeUnmarked() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    String mark = "BUILDNET_TARGET_TOKEN=exec-race";
    // Re-execs itself 20 times, then says so and waits: alive, with the mark, all the while.
    String script =
        "n=$1; if [ \"$n\" -gt 0 ]; then exec /bin/sh -c \"$0\" \"$0\" $((n-1)); fi; "
            + "echo done; read x";
    ProcessBuilder builder = new ProcessBuilder("/bin/sh", "-c", script, script, "20");
    Map<String, String> env = builder.environment();
    env.clear();
    env.put("PATH", "/usr/bin:/bin");
    // A large environment makes the kernel's lay-out of it, where environ reads empty, long
    // enough to be met often.
    for (int i = 0; i < 10_000; i++) {
      env.put("BUILDNET_FILLER_" + i, "xxxxxxxx");
    }
    env.put("BUILDNET_TARGET_TOKEN", "exec-race");
    Process p = builder.start();
    AtomicBoolean polling = new AtomicBoolean(true);
    AtomicInteger wrongNos = new AtomicInteger();
    AtomicInteger reads = new AtomicInteger();
    Thread poller =
        new Thread(
            () -> {
              while (polling.get()) {
                reads.incrementAndGet();
                if (Boolean.FALSE.equals(procfs.environmentHolds(p.pid(), List.of(mark)))) {
                  wrongNos.incrementAndGet();
                }
              }
            });
    poller.start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("done", out.readLine());
    } finally {
      polling.set(false);
      poller.join();
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
    assertEquals(0, wrongNos.get(), "said unmarked in " + wrongNos + " of " + reads + " reads");
  }

  private static final List<String> MARK = List.of("BUILDNET_TARGET_TOKEN=x");

  /** This JVM's own stat, to be edited into the states the kernel passes a process through. */
  private static String[] running() throws Exception {
    return LinuxProcfs.fieldsAfterName(Files.readString(Path.of("/proc/self/stat")));
  }

  private static String[] with(String[] stat, int field, String value) {
    String[] copy = stat.clone();
    copy[field - 3] = value; // field N of proc(5) follows the name at N - 3
    return copy;
  }

  private static String span(String[] stat) {
    long length = Long.parseLong(stat[51 - 3]) - Long.parseLong(stat[50 - 3]);
    return "V=x\0".repeat((int) (length / 4)) + "y".repeat((int) (length % 4));
  }

  @Test
  void anEnvironmentThatFillsItsSpan_isBelieved_eitherWay() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    String[] stat = running();
    String env = span(stat);
    assertEquals(Boolean.FALSE, LinuxProcfs.environmentVerdict(stat, env, null, MARK));

    String marked = "BUILDNET_TARGET_TOKEN=x\0" + env.substring(24);
    assertEquals(Boolean.TRUE, LinuxProcfs.environmentVerdict(stat, marked, null, MARK));
  }

  @Test
  void aReadCutShortByAnExec_cannotBeTold() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    String[] stat = running();
    String cut = span(stat).substring(0, 100);
    assertNull(LinuxProcfs.environmentVerdict(stat, cut, null, MARK));
  }

  @Test
  void anExecLayingOutTheEnvironment_cannotBeTold() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    // Exactly as create_elf_tables leaves it while it writes the pointers to the variables:
    // env_end == env_start (not 0), and start_code, recorded after the environment, still 0.
    String[] stat = running();
    String[] layingOut = with(with(stat, 51, stat[50 - 3]), 26, "0");
    assertTrue(LinuxProcfs.execInProgress(layingOut));
    assertNull(LinuxProcfs.environmentVerdict(layingOut, "", null, MARK));

    String[] beforeMemory = with(with(with(stat, 26, "0"), 50, "0"), 51, "0");
    assertNull(LinuxProcfs.environmentVerdict(beforeMemory, "", null, MARK));
  }

  @Test
  void anEmptyEnvironmentThatIsComplete_isUnmarked() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    String[] stat = running();
    String[] empty = with(stat, 51, stat[50 - 3]);
    assertFalse(LinuxProcfs.execInProgress(empty));
    assertEquals(Boolean.FALSE, LinuxProcfs.environmentVerdict(empty, "", null, MARK));
  }

  @Test
  void anUnreadableEnvironment_isUnmarked_unlessTheProcessIsExiting() throws Exception {
    assumeTrue(LinuxProcfs.isUsable());
    String[] stat = running();
    assertEquals(
        Boolean.FALSE, LinuxProcfs.environmentVerdict(stat, null, null, MARK), "gone since");
    assertEquals(
        Boolean.FALSE,
        LinuxProcfs.environmentVerdict(stat, null, with(stat, 26, "1"), MARK),
        "another user's: the kernel shows no addresses");
    assertEquals(
        Boolean.FALSE,
        LinuxProcfs.environmentVerdict(stat, null, with(stat, 3, "Z"), MARK),
        "a zombie: whatever it had to hand over, it has");

    long flags = Long.parseLong(stat[9 - 3]) | 0x4; // PF_EXITING
    String[] exiting = with(with(stat, 9, Long.toString(flags)), 26, "0");
    assertNull(
        LinuxProcfs.environmentVerdict(stat, null, exiting, MARK),
        "exiting: its children are handed over only once it is a zombie");
  }
}
