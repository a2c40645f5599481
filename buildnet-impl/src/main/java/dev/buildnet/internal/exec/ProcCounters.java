package dev.buildnet.internal.exec;

import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The three kernel counters {@link PidWindow} reads for every command: the count of tasks ever
 * created ({@code processes} in {@code /proc/stat}), the tasks now and the last pid handed out
 * ({@code /proc/loadavg}), and {@code /proc/sys/kernel/pid_max}.
 *
 * <p><b>Why not plain reads.</b> Opening a {@code /proc} file from Java costs an open, an fstat,
 * two reads and a close, a cleaner registered for the stream and a string of the whole file: 11
 * to 21 µs of CPU each on this project's machines, five times per command. Here each file is
 * opened once ({@code O_CLOEXEC}, so no child inherits it) and kept; a read is one {@code
 * pread(2)} at offset 0 into a buffer of the calling thread's, parsed in place. Every such read
 * is fresh: these are {@code seq_file}s and a sysctl, which render their text anew for a read
 * from offset 0 (as {@code top} reads {@code /proc/stat}). Where JNA's direct mapping is not
 * available, or a file cannot be opened, each read falls back to {@link LinuxProcfs#read}.
 */
final class ProcCounters {
  private static final Logger LOG = LoggerFactory.getLogger(ProcCounters.class);
  // asm-generic values, which x86, ARM, RISC-V and PowerPC share (see OutputPipes).
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 02000000;
  private static final int EINTR = 4;
  private static final byte[] PROCESSES = "\nprocesses ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private static final String STAT = "/proc/stat";
  private static final String LOADAVG = "/proc/loadavg";
  private static final String PID_MAX = "/proc/sys/kernel/pid_max";

  // /proc/stat is about 1 KiB on a small machine and tens of KiB on one with hundreds of CPUs.
  private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[4096]);
  private static final int MAX_KEPT_BUFFER = 256 * 1024;

  private ProcCounters() {}

  /** The C calls, bound by JNA's direct mapping (see {@link OutputPipes}). */
  static final class Libc {
    static final boolean LOADED = load();

    private static boolean load() {
      if (!OutputPipes.Libc.LOADED) {
        return false; // no JNA, not Linux, or a 32-bit JVM
      }
      try {
        Native.register(Libc.class, "c");
        return true;
      } catch (LinkageError | RuntimeException e) {
        LOG.debug("could not bind open and pread ({}); reading /proc counters by path",
            e.toString());
        return false;
      }
    }

    static native int open(String path, int flags);

    static native long pread(int fd, byte[] buffer, long count, long offset);
  }

  /** Whether the files are read through kept fds rather than by path; for tests. */
  static boolean readsKeptFiles() {
    return Fds.STAT_FD >= 0 && Fds.LOADAVG_FD >= 0 && Fds.PID_MAX_FD >= 0;
  }

  /** The three files, opened once on first use; -1 where one could not be (then read by path). */
  private static final class Fds {
    static final int STAT_FD = open(STAT);
    static final int LOADAVG_FD = open(LOADAVG);
    static final int PID_MAX_FD = open(PID_MAX);

    private static int open(String path) {
      if (!Libc.LOADED) {
        return -1;
      }
      try {
        return Libc.open(path, O_RDONLY | O_CLOEXEC);
      } catch (LinkageError | RuntimeException e) {
        return -1;
      }
    }
  }

  /** The {@code processes} line of /proc/stat: every process and thread created since boot; -1 if unreadable. */
  static long forks() {
    return forks(BUFFER.get());
  }

  /** {@link #forks()}, starting with buffer {@code b} (grown as needed); for tests. */
  static long forks(byte[] b) {
    int fd = Fds.STAT_FD;
    if (fd < 0) {
      return forks(LinuxProcfs.read(STAT, 16384));
    }
    int n = read(fd, b);
    while (n == b.length) { // may have been cut short: read it all
      b = new byte[b.length * 2];
      n = read(fd, b);
    }
    if (b.length <= MAX_KEPT_BUFFER && b.length > BUFFER.get().length) {
      BUFFER.set(b);
    }
    return n < 0 ? -1 : forks(b, n);
  }

  /** {@code forks()} on the text of /proc/stat; -1 if it has no {@code processes} line. */
  static long forks(String stat) {
    if (stat == null) {
      return -1;
    }
    byte[] b = stat.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    return forks(b, b.length);
  }

  private static long forks(byte[] b, int length) {
    int at = -1;
    if (startsWith(b, length, 0, PROCESSES, 1)) {
      at = PROCESSES.length - 1;
    } else {
      for (int i = 0; i + PROCESSES.length <= length; i++) {
        if (b[i] == '\n' && startsWith(b, length, i, PROCESSES, 0)) {
          at = i + PROCESSES.length;
          break;
        }
      }
    }
    return at < 0 ? -1 : number(b, length, at);
  }

  /**
   * From /proc/loadavg ({@code 0.20 0.18 0.12 1/80 11206}): {threads now, last pid}, or null if it
   * cannot be read or parsed.
   */
  static long[] loadavg() {
    int fd = Fds.LOADAVG_FD;
    if (fd < 0) {
      return loadavg(LinuxProcfs.read(LOADAVG, 128));
    }
    byte[] b = BUFFER.get();
    int n = read(fd, b);
    return n < 0 || n == b.length ? null : loadavg(b, n);
  }

  /** {@code loadavg()} on the text of /proc/loadavg. */
  static long[] loadavg(String text) {
    if (text == null) {
      return null;
    }
    byte[] b = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    return loadavg(b, b.length);
  }

  private static long[] loadavg(byte[] b, int length) {
    // Fields: three loads, running/threads, last pid.
    int slash = -1;
    int spaces = 0;
    int lastField = -1;
    for (int i = 0; i < length; i++) {
      if (b[i] == ' ') {
        spaces++;
        if (spaces == 4) {
          lastField = i + 1;
          break;
        }
      } else if (b[i] == '/' && spaces == 3) {
        slash = i;
      }
    }
    if (slash < 0 || lastField < 0) {
      return null;
    }
    long threads = number(b, length, slash + 1);
    long last = number(b, length, lastField);
    return threads < 0 || last < 0 ? null : new long[] {threads, last};
  }

  /** /proc/sys/kernel/pid_max, or -1. Read every time: root may change it while we run. */
  static long pidMax() {
    int fd = Fds.PID_MAX_FD;
    if (fd < 0) {
      String text = LinuxProcfs.read(PID_MAX, 32);
      return text == null ? -1 : number(text);
    }
    byte[] b = BUFFER.get();
    int n = read(fd, b);
    return n <= 0 || n == b.length ? -1 : number(b, n, 0);
  }

  private static long number(String text) {
    byte[] b = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    return number(b, b.length, 0);
  }

  /** The decimal number at {@code at}, up to a space or newline (or the end); -1 if there is none. */
  private static long number(byte[] b, int length, int at) {
    long value = 0;
    int digits = 0;
    int i = at;
    for (; i < length && b[i] >= '0' && b[i] <= '9'; i++) {
      if (++digits > 18) {
        return -1;
      }
      value = value * 10 + (b[i] - '0');
    }
    boolean ended = i == length || b[i] == ' ' || b[i] == '\n';
    return digits == 0 || !ended ? -1 : value;
  }

  private static boolean startsWith(byte[] b, int length, int at, byte[] prefix, int from) {
    if (at + prefix.length - from > length) {
      return false;
    }
    for (int k = from; k < prefix.length; k++) {
      if (b[at + k - from] != prefix[k]) {
        return false;
      }
    }
    return true;
  }

  /** One pread from offset 0: the whole file if it fits; -1 if it fails. */
  private static int read(int fd, byte[] b) {
    while (true) {
      long n = Libc.pread(fd, b, b.length, 0);
      if (n >= 0) {
        return (int) n;
      }
      if (Native.getLastError() != EINTR) {
        return -1;
      }
    }
  }
}
