package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The kernel counters the pid window reads through kept fds: what one {@code pread} from offset 0
 * gives must be what reading the file by path gives, read afresh every time.
 */
class ProcCountersTest {
  @Test
  void theKeptFilesGiveWhatTheFilesByPathGive_readAfreshEachTime() throws Exception {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    assumeTrue(ProcCounters.readsKeptFiles(), "needs JNA's direct mapping");
    // Not Files.readString: a sysctl gives nothing to a read that does not start at offset 0, and
    // that reads one byte first.
    long pidMaxByPath = Long.parseLong(LinuxProcfs.read("/proc/sys/kernel/pid_max", 32).trim());
    long before = ProcCounters.forks();
    long byPath = ProcCounters.forks(Files.readString(Path.of("/proc/stat")));
    new ProcessBuilder("true").start().waitFor(); // one more task created
    long after = ProcCounters.forks();
    long[] load = ProcCounters.loadavg();

    assertEquals(pidMaxByPath, ProcCounters.pidMax());
    assertTrue(before > 0 && before <= byPath && byPath < after, before + " " + byPath + " " + after);
    assertNotNull(load);
    assertTrue(load[0] > 0 && load[1] > 0 && load[1] < pidMaxByPath, load[0] + "/" + load[1]);
  }

  @Test
  void aStatLargerThanTheBuffer_isReadWhole() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
    long whole = ProcCounters.forks();

    long grown = ProcCounters.forks(new byte[16]); // far smaller than any /proc/stat

    assertTrue(grown >= whole && grown > 0, whole + " then " + grown);
  }

  @Test
  void theProcessesLine_isFoundAnywhere_andItsAbsenceIsNoCount() {
    assertEquals(1234, ProcCounters.forks("cpu  1 2 3\nintr 5 0 0\nprocesses 1234\nprocs_running 1\n"));
    assertEquals(77, ProcCounters.forks("processes 77\nprocs_running 1\n"));
    assertEquals(9, ProcCounters.forks("cpu 1\nprocesses 9"));
    assertEquals(-1, ProcCounters.forks("cpu 1\nprocs_running 1\n"));
    assertEquals(-1, ProcCounters.forks("cpu 1\nprocesses x\n"));
    assertEquals(-1, ProcCounters.forks("cpu 1\nprocesses 12a\n"));
    assertEquals(-1, ProcCounters.forks("cpu 1\nprocesses 99999999999999999999999\n"));
    assertEquals(-1, ProcCounters.forks((String) null));
  }

  @Test
  void loadavg_givesTheThreadsAndTheLastPid_orNothing() {
    assertArrayEquals(new long[] {80, 11206}, ProcCounters.loadavg("0.20 0.18 0.12 1/80 11206\n"));
    assertArrayEquals(new long[] {80, 11206}, ProcCounters.loadavg("0.20 0.18 0.12 1/80 11206"));
    assertNull(ProcCounters.loadavg("0.20 0.18 0.12 80 11206\n"));
    assertNull(ProcCounters.loadavg("0.20 0.18 0.12 1/80\n"));
    assertNull(ProcCounters.loadavg("0.20 0.18 0.12 1/80 x\n"));
    assertNull(ProcCounters.loadavg(""));
    assertNull(ProcCounters.loadavg((String) null));
  }
}
