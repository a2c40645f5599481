package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PidWindowTest {
  private static final long PID_MAX = 32_768;

  /** Counters as read before a fork: 1,000 creations so far, 200 threads. */
  private static PidWindow window() {
    return new PidWindow(1_000, 200, System.nanoTime());
  }

  @Test
  void thePidsAfterTheRoot_upToTheLastHandedOut() {
    PidWindow.Pids pids = window().after(5_000, 1_010, 5_004, PID_MAX);

    assertArrayEquals(new long[] {5_001, 5_002, 5_003, 5_004}, pids.toArray());
    assertEquals(4, pids.size());
    assertTrue(pids.contains(5_004));
    assertFalse(pids.contains(5_000), "not the root itself");
    assertFalse(pids.contains(5_005));
    assertFalse(pids.contains(4_999));
  }

  @Test
  void nothingHandedOutSinceTheRoot_isAnEmptyWindow() {
    PidWindow.Pids pids = window().after(5_000, 1_001, 5_000, PID_MAX);

    assertEquals(0, pids.size());
    assertArrayEquals(new long[0], pids.toArray());
    assertFalse(pids.contains(5_000));
  }

  @Test
  void aCounterThatWrapped_coversTheTopAndTheBottom() {
    PidWindow.Pids pids = window().after(PID_MAX - 3, 1_010, 2, PID_MAX);

    assertArrayEquals(new long[] {PID_MAX - 2, PID_MAX - 1, 1, 2}, pids.toArray());
    assertEquals(4, pids.size());
    assertTrue(pids.contains(PID_MAX - 1));
    assertTrue(pids.contains(1));
    assertFalse(pids.contains(3));
    assertFalse(pids.contains(PID_MAX - 3));
    assertFalse(pids.contains(PID_MAX));
  }

  @Test
  void enoughCreationsToGoAllTheWayRound_cannotBeBounded() {
    PidWindow window = window();
    long cycle = PID_MAX - 300;
    // Pids in use when the command started (up to three per thread) are skipped, so they count.
    long justBelow = cycle - 3 * 200 - 1;

    assertNotNull(window.after(5_000, 1_000 + justBelow, 5_100, PID_MAX));
    assertNull(window.after(5_000, 1_000 + justBelow + 1, 5_100, PID_MAX));
  }

  @Test
  void aCommandThatRanLongerThanTheBound_getsTheFullLook() {
    long started = System.nanoTime() - (PidWindow.BOUNDED_MILLIS + 1) * 1_000_000;
    PidWindow window = new PidWindow(0, 1, started);

    assertNull(window.after(ProcessHandle.current().pid()));
    assertNull(window.after(1, started + (PidWindow.BOUNDED_MILLIS + 1) * 1_000_000));
  }

  @Test
  void unreadableOrImpossibleCounters_cannotBeBounded() {
    PidWindow window = window();

    assertNull(window.after(5_000, 999, 5_100, PID_MAX), "the fork count went backwards");
    assertNull(window.after(5_000, 1_010, 0, PID_MAX));
    assertNull(window.after(5_000, 1_010, PID_MAX, PID_MAX));
    assertNull(window.after(PID_MAX, 1_010, 5, PID_MAX));
  }

  @Test
  void aGrandchildDetachedFromTheRoot_isInTheWindow_andIsAProcess() throws Exception {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    PidWindow window = PidWindow.beforeFork();
    assertNotNull(window);
    long orphan = assertDetachedGrandchildIsInTheWindow(window);
    try {
      assertTrue(PidWindow.isProcess(orphan));
      assertFalse(PidWindow.isProcess(someOtherThreadOfThisJvm()), "a thread is not a process");
    } finally {
      ProcessHandle.of(orphan).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  /**
   * Starts a root that detaches a {@code sleep} and exits, and asserts the sleep's pid is in
   * {@code window} after the root; returns that pid (alive: the caller kills it).
   */
  private static long assertDetachedGrandchildIsInTheWindow(PidWindow window) throws Exception {
    Process root = new ProcessBuilder(ScriptCommands.sh(
        "(sleep 1000 </dev/null >/dev/null 2>&1 & echo $!)", List.of())).start();
    long orphan;
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(root.getInputStream(), StandardCharsets.UTF_8))) {
      orphan = Long.parseLong(out.readLine().strip());
    }
    try {
      assertTrue(root.waitFor(30, TimeUnit.SECONDS));
      // As if no time had passed: the time bound has a test of its own, and this machine may be
      // loaded enough that starting the shell takes longer.
      PidWindow.Pids pids = window.after(root.pid(), window.startNanos());

      assertNotNull(pids, "this machine's counters should bound a window of a few pids");
      assertTrue(pids.contains(orphan), orphan + " not in " + pids);
      return orphan;
    } catch (RuntimeException | Error e) {
      ProcessHandle.of(orphan).ifPresent(ProcessHandle::destroyForcibly);
      throw e;
    }
  }

  /** A count kept by a test (a made-up one) must not widen the windows of what runs next. */
  @AfterEach
  void keepARealCount() {
    long forks = ProcCounters.forks();
    if (forks > 0) {
      PidWindow.keep(forks, System.nanoTime());
    }
  }

  @Test
  void aCountKeptWithinTheReuseAge_servesTheNextStart() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    long now = System.nanoTime();
    // Any count read before a fork is a lower bound of the count at the fork: an older, smaller
    // one only widens what created could be.
    PidWindow.keep(1_234, now);

    PidWindow window = PidWindow.beforeFork();

    assertNotNull(window);
    assertEquals(1_234, window.forksAtStart());
    assertTrue(window.startNanos() - now >= 0, "the time bound runs from this start");
  }

  @Test
  void aCountOlderThanTheReuseAge_isReadAfresh() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    PidWindow.keep(1_234, System.nanoTime() - (PidWindow.REUSE_MILLIS + 1) * 1_000_000);

    PidWindow window = PidWindow.beforeFork();

    assertNotNull(window);
    assertTrue(window.forksAtStart() > 1_234, "read afresh: " + window.forksAtStart());
    assertTrue(PidWindow.keptForks(System.nanoTime()) >= window.forksAtStart(),
        "the fresh count is kept for the next start");
  }

  @Test
  void theEndsCount_isKeptForTheNextStart() throws Exception {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    PidWindow window = PidWindow.beforeFork();
    assertNotNull(window);
    Process root = new ProcessBuilder("true").start();
    assertTrue(root.waitFor(30, TimeUnit.SECONDS));
    PidWindow.keep(0, System.nanoTime() - (PidWindow.REUSE_MILLIS + 1) * 1_000_000); // stale

    assertNotNull(window.after(root.pid(), window.startNanos()));

    assertTrue(PidWindow.keptForks(System.nanoTime()) > window.forksAtStart(),
        "the end read the count after the fork, and kept it");
  }

  @Test
  void aCountTooOldToBoundAnything_givesTheFullLook_notAWrongWindow() throws Exception {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    // A count from long before (here: none at all since boot) is still a valid lower bound, but
    // then every task created since counts as created by this command: unless this machine has
    // created fewer than a cycle's worth of tasks since boot, the window cannot be bounded.
    long pidMax = Long.parseLong(LinuxProcfs.read("/proc/sys/kernel/pid_max", 32).trim());
    long sinceBoot = ProcCounters.forks();
    assumeTrue(sinceBoot >= pidMax, "this machine has created fewer tasks than pid_max");
    PidWindow.keep(0, System.nanoTime());
    PidWindow window = PidWindow.beforeFork();
    assertNotNull(window);
    Process root = new ProcessBuilder("true").start();
    assertTrue(root.waitFor(30, TimeUnit.SECONDS));

    assertNull(window.after(root.pid(), window.startNanos()));
  }

  @Test
  void aGrandchildDetachedFromTheRoot_isInTheWindow_whenTheStartReusedAKeptCount()
      throws Exception {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    assertNotNull(PidWindow.beforeFork()); // reads and keeps a count
    PidWindow window = PidWindow.beforeFork(); // reuses it
    assertNotNull(window);
    assertTrue(PidWindow.keptForks(window.startNanos()) >= 0, "a count was kept to reuse");
    long orphan = assertDetachedGrandchildIsInTheWindow(window);
    ProcessHandle.of(orphan).ifPresent(ProcessHandle::destroyForcibly);
  }

  private static long someOtherThreadOfThisJvm() throws Exception {
    long self = ProcessHandle.current().pid();
    try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
      return tasks.mapToLong(t -> Long.parseLong(t.getFileName().toString()))
          .filter(tid -> tid != self).findFirst().orElseThrow();
    }
  }
}
