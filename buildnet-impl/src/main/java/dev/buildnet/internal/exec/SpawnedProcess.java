package dev.buildnet.internal.exec;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A child that {@link PosixSpawn} started, which the JDK knows nothing about: no reaper thread
 * waits for it, so this object reaps it ({@code waitid(P_PIDFD, WEXITED)} on a pidfd of its own)
 * and signals it through that pidfd ({@code pidfd_send_signal}), which cannot hit another process
 * even after the pid is reused.
 *
 * <p><b>Who reaps.</b> A command's {@link CommandLoop} calls {@link #reapExited()} once the pidfd
 * it polls says the child exited; where no loop runs (it failed, or could not be started), {@link
 * #waitFor()} blocks in {@code waitid} itself. Nothing else in this JVM may reap the child before
 * then, or its status is lost: {@link #ownsUnreaped} tells {@link LinuxNative#reap} (the subreaper's
 * reaping of orphans, {@link ZombieSweeper}) to leave it alone.
 *
 * <p>The streams are empty: the command's stdin, stdout and stderr are {@link OutputPipes} and a
 * pipe closed at the start (see {@link PosixSpawn}). {@link #waitFor()} is not interruptible
 * (it waits in the kernel); the provider only calls it for a child that has exited or was killed.
 */
public final class SpawnedProcess extends Process {
  private static final Logger LOG = LoggerFactory.getLogger(SpawnedProcess.class);
  private static final Set<Long> UNREAPED = ConcurrentHashMap.newKeySet();
  private static final int EINTR = 4;
  private static final int SIGTERM = 15;
  private static final int SIGKILL = 9;
  // What the status of a child reaped behind our back is reported as (it cannot be known).
  private static final int STATUS_LOST = 255;

  private final long pid;
  private final ProcessHandle handle;
  // One reaper at a time: a blocked waitFor() holds it, so the pidfd is not closed under it.
  private final Object reapLock = new Object();
  // ---- guarded by this: the pidfd is closed (and becomes -1) only under both locks ----
  private int pidfd;
  private volatile int exitCode = -1;

  private SpawnedProcess(long pid, int pidfd, ProcessHandle handle) {
    this.pid = pid;
    this.pidfd = pidfd;
    this.handle = handle;
  }

  /**
   * Takes over {@code pid}, a child just spawned and not reaped, with {@code pidfd} open on it.
   * Its handle is taken now, while the pid cannot belong to anyone else.
   */
  static SpawnedProcess adopt(long pid, int pidfd) {
    UNREAPED.add(pid);
    ProcessHandle handle = ProcessHandle.of(pid).orElse(null);
    return new SpawnedProcess(pid, pidfd, handle);
  }

  /** True if {@code pid} is a child of ours whose status nobody has read yet: not to be reaped. */
  static boolean ownsUnreaped(long pid) {
    return UNREAPED.contains(pid);
  }

  /**
   * Reaps the child, which must have exited (its pidfd polled readable), and returns its status
   * as the JDK reports one: the exit code, or 128 + the signal that ended it.
   */
  int reapExited() {
    return reap();
  }

  private int reap() {
    synchronized (reapLock) {
      if (exitCode >= 0) {
        return exitCode;
      }
      int fd;
      synchronized (this) {
        fd = pidfd;
      }
      Memory siginfo = new Memory(ChildStatus.SIGINFO_BYTES);
      int code;
      while (true) {
        siginfo.clear();
        if (OutputPipes.Libc.waitid(ChildStatus.P_PIDFD, fd, siginfo, ChildStatus.WEXITED) == 0) {
          code = ChildStatus.exitCode(siginfo, STATUS_LOST);
          break;
        }
        int errno = Native.getLastError();
        if (errno != EINTR) {
          // ECHILD: something outside the provider (an embedding host's waitpid(-1), say) reaped
          // our child first.
          LOG.warn("pid {}: its exit status could not be read (errno {}); reported as {}", pid,
              errno, STATUS_LOST);
          code = STATUS_LOST;
          break;
        }
      }
      synchronized (this) {
        OutputPipes.Libc.close(pidfd);
        pidfd = -1;
        exitCode = code;
      }
      UNREAPED.remove(pid);
      return code;
    }
  }

  // siginfo_t for SIGCHLD on 64-bit Linux: si_code at 8, si_pid at 16, si_status at 24.

  @Override
  public int waitFor() {
    return reap();
  }

  @Override
  public int exitValue() {
    int code = exitCode;
    if (code < 0) {
      throw new IllegalThreadStateException("process " + pid + " has not exited");
    }
    return code;
  }

  @Override
  public boolean isAlive() {
    return exitCode < 0;
  }

  @Override
  public void destroy() {
    signal(SIGTERM);
  }

  @Override
  public Process destroyForcibly() {
    signal(SIGKILL);
    return this;
  }

  private synchronized void signal(int signal) {
    if (pidfd >= 0) {
      PosixSpawn.Lib.syscall(PosixSpawn.SYS_PIDFD_SEND_SIGNAL, pidfd, signal, 0, 0);
    }
  }

  @Override
  public boolean supportsNormalTermination() {
    return true;
  }

  @Override
  public long pid() {
    return pid;
  }

  /**
   * The handle taken at the start (the JDK checks its start time before signalling). A child
   * that was already gone from {@code /proc} then, which a child not yet reaped never is, would
   * have none.
   */
  @Override
  public ProcessHandle toHandle() {
    if (handle == null) {
      throw new UnsupportedOperationException("no handle for pid " + pid);
    }
    return handle;
  }

  @Override
  public OutputStream getOutputStream() {
    return OutputStream.nullOutputStream();
  }

  @Override
  public InputStream getInputStream() {
    return InputStream.nullInputStream();
  }

  @Override
  public InputStream getErrorStream() {
    return InputStream.nullInputStream();
  }

  @Override
  public String toString() {
    int code = exitCode;
    return "SpawnedProcess[pid=" + pid + ", exitValue=" + (code < 0 ? "\"not exited\"" : code) + "]";
  }
}
