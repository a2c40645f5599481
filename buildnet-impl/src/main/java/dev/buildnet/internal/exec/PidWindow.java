package dev.buildnet.internal.exec;

/**
 * Which pids can belong to processes a command started, on Linux, so that finding its detached
 * processes without the subreaper reads only those instead of every process on the machine.
 *
 * <p>Linux hands out pids in a namespace cyclically: each new process or thread gets the first
 * free pid after the one handed out last, wrapping at {@code pid_max}. Every process a command
 * starts (however it detaches: double fork, {@code setsid}) is created after the command's root,
 * so its pid lies in the cyclic interval from the root's pid to the last pid handed out now
 * ({@code /proc/loadavg}'s last field), unless the counter went all the way round in between.
 * That is ruled out with the kernel's count of every process and thread ever created ({@code
 * processes} in {@code /proc/stat}), read before the root's fork: the counter moves at most once
 * per creation plus once per pid it skips because it is in use, and the pids in use when the
 * command started number at most three per thread then (its pid, process group and session).
 * When that sum could reach a full cycle, or a file cannot be read, {@link #after} returns null
 * and the caller looks at every process as before. It does so too for a command that ran longer
 * than {@value #BOUNDED_MILLIS} ms, because a fork that fails after its pid was allotted (at a
 * cgroup's {@code pids.max}, say) moves the counter without being counted: only a flood of those
 * within that second could take it round (tens of thousands even at the smallest {@code
 * pid_max}), while for a longer command the full look costs little next to its run time.
 *
 * <p>So a command that started nothing costs two small reads at its end, and one that started
 * something a read per pid handed out meanwhile (machine-wide: other processes' too). A process
 * that picks its own pid ({@code clone3} with {@code set_tid}, or a write to {@code
 * ns_last_pid}, both of which need {@code CAP_CHECKPOINT_RESTORE}) can escape this window.
 */
public final class PidWindow {
  // On wrapping, Linux resumes at 300 (RESERVED_PIDS), skipping the low pids of early daemons.
  private static final long RESERVED_PIDS = 300;
  /** Pids in use per thread at most: its own, its process group's and its session's. */
  private static final long PIDS_PER_THREAD = 3;
  /** Commands that ran longer than this get the full look; see the class comment. */
  static final long BOUNDED_MILLIS = 1_000;

  private final long forksAtStart;
  private final long threadsAtStart;
  private final long startNanos;

  PidWindow(long forksAtStart, long threadsAtStart, long startNanos) {
    this.forksAtStart = forksAtStart;
    this.threadsAtStart = threadsAtStart;
    this.startNanos = startNanos;
  }

  /**
   * Reads the counters before a fork; null if {@code /proc/stat} or {@code /proc/loadavg} cannot
   * be read or parsed (then nothing can be bounded).
   */
  public static PidWindow beforeFork() {
    long forks = forks();
    long[] load = loadavg();
    if (forks < 0 || load == null) {
      return null;
    }
    return new PidWindow(forks, load[0], System.nanoTime());
  }

  /**
   * The pids that may have been handed out after {@code rootPid} up to now; null when they cannot
   * be bounded (then every process must be looked at).
   */
  public Pids after(long rootPid) {
    return after(rootPid, System.nanoTime());
  }

  /** {@link #after(long)} as if it were {@code nowNanos}; for tests. */
  Pids after(long rootPid, long nowNanos) {
    if (nowNanos - startNanos > BOUNDED_MILLIS * 1_000_000) {
      return null;
    }
    long[] load = loadavg();
    long forks = forks();
    long pidMax = pidMax();
    if (load == null || forks < 0 || pidMax <= 0) {
      return null;
    }
    return after(rootPid, forks, load[1], pidMax);
  }

  /** When the counters were read; for tests. */
  long startNanos() {
    return startNanos;
  }

  /** {@link #after(long)} on counters read by the caller, within the time bound; for tests. */
  Pids after(long rootPid, long forksNow, long lastPid, long pidMax) {
    long created = forksNow - forksAtStart;
    long cycle = pidMax - RESERVED_PIDS;
    if (created < 0 || rootPid <= 0 || rootPid >= pidMax || lastPid <= 0 || lastPid >= pidMax
        || created + PIDS_PER_THREAD * threadsAtStart >= cycle) {
      return null;
    }
    return new Pids(rootPid, lastPid, pidMax);
  }

  /**
   * The cyclic interval of pids after {@code root} up to and including {@code last}, below {@code
   * pidMax}; empty when {@code last == root}.
   */
  public record Pids(long root, long last, long pidMax) {
    public long size() {
      // After a wrap the count is from 1 up: where Linux resumes need not be assumed.
      return last >= root ? last - root : (pidMax - 1 - root) + last;
    }

    public boolean contains(long pid) {
      if (last >= root) {
        return pid > root && pid <= last;
      }
      return (pid > root && pid < pidMax) || (pid >= 1 && pid <= last);
    }

    /** Every pid in the interval, ascending from just after the root; call only when small. */
    public long[] toArray() {
      long[] pids = new long[Math.toIntExact(size())];
      long pid = root;
      for (int i = 0; i < pids.length; i++) {
        pid = pid + 1 >= pidMax ? 1 : pid + 1;
        pids[i] = pid;
      }
      return pids;
    }
  }

  /**
   * Whether {@code pid} is a process rather than another thread of one: {@code /proc/<tid>} exists
   * for every thread, though only processes are listed. False if it cannot be read.
   */
  static boolean isProcess(long pid) {
    String status = LinuxProcfs.read("/proc/" + pid + "/status", 2048);
    if (status == null) {
      return false;
    }
    int at = status.indexOf("\nTgid:");
    if (at < 0) {
      return false;
    }
    int end = status.indexOf('\n', at + 1);
    return parse(status.substring(at + "\nTgid:".length(), end < 0 ? status.length() : end)) == pid;
  }

  /** The {@code processes} line of /proc/stat: every process and thread created since boot. */
  private static long forks() {
    String stat = LinuxProcfs.read("/proc/stat", 16384);
    if (stat == null) {
      return -1;
    }
    int at = 0;
    if (!stat.startsWith("processes ")) {
      at = stat.indexOf("\nprocesses ");
      if (at < 0) {
        return -1;
      }
      at++;
    }
    int end = stat.indexOf('\n', at);
    return parse(stat.substring(at + "processes ".length(), end < 0 ? stat.length() : end));
  }

  /** From /proc/loadavg ({@code 0.20 0.18 0.12 1/80 11206}): the threads now and the last pid. */
  private static long[] loadavg() {
    String text = LinuxProcfs.read("/proc/loadavg", 128);
    if (text == null) {
      return null;
    }
    String[] fields = text.trim().split(" ");
    if (fields.length < 5) {
      return null;
    }
    int slash = fields[3].indexOf('/');
    long threads = slash < 0 ? -1 : parse(fields[3].substring(slash + 1));
    long last = parse(fields[4]);
    return threads < 0 || last < 0 ? null : new long[] {threads, last};
  }

  private static long pidMax() {
    String text = LinuxProcfs.read("/proc/sys/kernel/pid_max", 32);
    return text == null ? -1 : parse(text.trim());
  }

  private static long parse(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
