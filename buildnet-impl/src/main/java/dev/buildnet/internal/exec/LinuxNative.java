package dev.buildnet.internal.exec;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux calls the JDK does not offer, through JNA: making this JVM a child subreaper and
 * reaping the orphans it then adopts; and making pipes whose read end this JVM owns instead of the
 * JDK (see {@link OutputPipes}).
 *
 * <p><b>Why a subreaper.</b> A process whose parent exits is normally re-parented to init (or to
 * the nearest ancestor that asked to be a subreaper). Once that has happened, nothing links it to
 * the command that started it, and a build tool can no longer find it. With {@code
 * prctl(PR_SET_CHILD_SUBREAPER)} every orphan from anywhere below this JVM is re-parented to this
 * JVM instead, so the provider finds it among its own children and, after killing it, reaps it
 * with {@code waitpid} (the JDK reaps only the processes it started itself).
 *
 * <p>JNA is loaded on first use, and only on Linux. If it cannot be loaded, or the kernel refuses,
 * one warning is logged and {@link #get()} returns null: commands still run and are still stopped,
 * and their detached processes are found by their mark among the pids handed out since the
 * command started ({@link PidWindow}). The subreaper bit belongs to the whole
 * process and is never switched off: it is set once, by whichever provider starts a command first.
 */
public final class LinuxNative implements ProcessTree.Reaper {
  private static final Logger LOG = LoggerFactory.getLogger(LinuxNative.class);
  private static final int PR_SET_CHILD_SUBREAPER = 36;
  private static final int WNOHANG = 1;

  /** The C library, as JNA binds it. */
  public interface CLib extends Library {
    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    int waitpid(int pid, int[] status, int options);

    int pipe2(int[] fds, int flags);

    int close(int fd);
  }

  private final CLib libc;

  private LinuxNative(CLib libc) {
    this.libc = libc;
  }

  /** Initialization on demand: the class (and JNA) loads the first time a command starts. */
  private static final class Holder {
    static final LinuxNative INSTANCE = load();
  }

  /** The C library alone, without the subreaper bit: what {@link OutputPipes} needs. */
  private static final class LibcHolder {
    static final CLib LIBC = loadLibc();
  }

  /** The native calls with this JVM already a subreaper, or null where that is not available. */
  public static LinuxNative get() {
    return Holder.INSTANCE;
  }

  /**
   * The C library, or null where it cannot be had (not Linux, or JNA failing to load, with one
   * warning).
   */
  static CLib libc() {
    return LibcHolder.LIBC;
  }

  private static CLib loadLibc() {
    if (!LinuxProcfs.isUsable()) {
      return null;
    }
    try {
      return Native.load("c", CLib.class);
    } catch (LinkageError | RuntimeException e) {
      LOG.warn(
          "JNA could not be loaded ({}); commands' output goes through the JDK's pipes (what a "
              + "command's processes write after its first one exits may be lost), and what they "
              + "leave behind is looked for among the pids handed out since each command started",
          e.toString());
      return null;
    }
  }

  private static LinuxNative load() {
    CLib libc = libc();
    if (libc == null) {
      return null;
    }
    try {
      if (libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        LOG.warn(
            "prctl(PR_SET_CHILD_SUBREAPER) failed (errno {}); what commands leave behind will be "
                + "looked for among the pids handed out since each command started",
            Native.getLastError());
        return null;
      }
    } catch (LinkageError | RuntimeException e) {
      LOG.warn(
          "prctl could not be called ({}); what commands leave behind will be looked for among "
              + "the pids handed out since each command started",
          e.toString());
      return null;
    }
    return new LinuxNative(libc);
  }

  /**
   * Reaps {@code pid} if it is a zombie child of this JVM; never blocks. Call only for a pid that
   * the JDK does not wait for itself (one this JVM adopted), or the JDK would lose its exit status;
   * a {@link SpawnedProcess} not reaped yet is left alone for the same reason.
   */
  @Override
  public void reap(long pid) {
    if (SpawnedProcess.ownsUnreaped(pid)) {
      return; // a command's root that its own loop reaps: its status must reach the command
    }
    libc.waitpid((int) pid, new int[1], WNOHANG);
  }
}
