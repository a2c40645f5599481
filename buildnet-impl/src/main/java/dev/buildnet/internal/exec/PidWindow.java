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
 * <p>The count at the start need not be read for this command: any reading taken before the fork
 * is a lower bound of it (the count never falls), which only makes {@code created} larger, so the
 * check above stays sound. Each reading is kept ({@link #latestForks}), and the next command's
 * start uses it when it is younger than {@value #REUSE_MILLIS} ms (older ones would make the
 * window needlessly loose on a busy machine), so a command's start reads only {@code
 * /proc/loadavg}. The thread count cannot be reused that way (threads come and go): it is read
 * before every fork, after the count it goes with, since a task created between the two reads is
 * then counted in {@code created} or among the threads. The time bound runs from this start, not
 * from the older reading: only counter moves after the root's fork can take the counter round
 * past the root. {@code pid_max} is read at every end, never cached: root may lower it at any
 * time, and a cached larger value would overstate the cycle.
 *
 * <p>So a command that started nothing costs a small read at its start and three at its end (see
 * {@link ProcCounters} for how little each costs), and one that started something a read per pid
 * handed out meanwhile (machine-wide: other processes' too). A process
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
  /** A kept count younger than this serves as the next command's count at its start. */
  static final long REUSE_MILLIS = 250;

  /** The latest count read, with when: {forks, nanoTime}; null before the first. */
  private static volatile long[] latestForks;

  private final long forksAtStart;
  private final long threadsAtStart;
  private final long startNanos;

  PidWindow(long forksAtStart, long threadsAtStart, long startNanos) {
    this.forksAtStart = forksAtStart;
    this.threadsAtStart = threadsAtStart;
    this.startNanos = startNanos;
  }

  /**
   * Reads the counters before a fork (the count of created tasks only when no recent reading is
   * kept, see the class comment); null if {@code /proc/stat} or {@code /proc/loadavg} cannot be
   * read or parsed (then nothing can be bounded).
   */
  public static PidWindow beforeFork() {
    long now = System.nanoTime();
    long forks = keptForks(now);
    if (forks < 0) {
      forks = ProcCounters.forks();
      if (forks < 0) {
        return null;
      }
      keep(forks, now);
    }
    long[] load = ProcCounters.loadavg(); // after the count: see the class comment
    if (load == null) {
      return null;
    }
    return new PidWindow(forks, load[0], now);
  }

  /** The kept count if it was read within {@link #REUSE_MILLIS} before {@code now}, else -1. */
  static long keptForks(long now) {
    long[] kept = latestForks;
    if (kept == null || now - kept[1] > REUSE_MILLIS * 1_000_000) {
      return -1;
    }
    return kept[0];
  }

  /**
   * Keeps a count read at {@code nanos} for later starts. Whichever thread stores last wins: any
   * reading is a valid lower bound for a fork after it, a newer one only a tighter one.
   */
  static void keep(long forks, long nanos) {
    latestForks = new long[] {forks, nanos};
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
    // The last pid first, then the count: every pid up to it was handed out before the count
    // was read, so the count covers them.
    long[] load = ProcCounters.loadavg();
    long forks = ProcCounters.forks();
    long pidMax = ProcCounters.pidMax();
    if (load == null || forks < 0 || pidMax <= 0) {
      return null;
    }
    keep(forks, System.nanoTime());
    return after(rootPid, forks, load[1], pidMax);
  }

  /** The count of created tasks this window starts from; for tests. */
  long forksAtStart() {
    return forksAtStart;
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

  private static long parse(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
