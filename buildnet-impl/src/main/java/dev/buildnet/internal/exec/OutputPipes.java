package dev.buildnet.internal.exec;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.Closeable;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A command's stdout and stderr pipes, made by this JVM instead of the JDK (Linux, with JNA).
 *
 * <p><b>Why.</b> The JDK owns the pipes it makes for a child, and the moment that child exits its
 * reaper thread calls {@code ProcessPipeInputStream.processExited()}, which reads what the pipe
 * holds just then into memory and closes the read end. A process that still holds the write end
 * (a background job of the command, the child of a make-like root still flushing) then gets
 * {@code EPIPE}/{@code SIGPIPE} on its next write, and its output is lost without a word. Holding
 * the stream's monitor while reading keeps {@code processExited} out, but only once the reader
 * thread has started: a root that exits first wins.
 *
 * <p><b>How.</b> {@code pipe2(O_CLOEXEC)} makes each pipe. The child gets the write end through
 * {@link Redirect#to} {@code /proc/self/fd/N}: the JDK opens that path, which on Linux opens the
 * same pipe again, puts it on the child's fd 1 or 2 and closes its own copy once the child has
 * started; {@link #started()} then closes this JVM's write end, so only the command's processes
 * can write. The read ends stay this JVM's raw fds, which the JDK knows nothing about and never
 * closes: one {@link CommandLoop} thread polls both (and the root's exit), or, where that cannot
 * be had, each is opened again as a plain {@link FileInputStream} through {@code /proc/self/fd}
 * for a reader thread of its own. End-of-file then means what it means to a shell: every process
 * holding the pipe has closed it, the root's descendants included; the provider still stops what
 * is left behind a moment after the root's exit, and reads to end-of-file after that, so what
 * they wrote before being stopped is kept.
 *
 * <p><b>Descriptors.</b> The fds {@code pipe2} makes are close-on-exec, so no other command's
 * child can inherit them; the write ends are closed here by {@link #started()}, and the JDK's
 * child closes every fd above 2 before it execs anyway. The read ends are closed by whoever reads
 * them to the end ({@link CommandLoop} or {@link OutputPump}), or by {@link #close()} when no one
 * will.
 */
public final class OutputPipes implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(OutputPipes.class);
  // asm-generic value, which x86, ARM, RISC-V and PowerPC share (not Alpha, SPARC, PA-RISC).
  private static final int O_CLOEXEC = 02000000;

  private int stdoutRead = -1;
  private int stderrRead = -1;
  // How /proc names the two pipes ("pipe:[inode]"), or null where fstat could not tell.
  private Set<String> identities;
  private int stdoutWrite = -1;
  private int stderrWrite = -1;
  private InputStream stdout;
  private InputStream stderr;

  private OutputPipes() {}

  /**
   * The C calls bound by JNA's direct mapping: a call costs about what a JNI call does, where
   * {@link LinuxNative.CLib}'s interface mapping goes through a proxy and reflection (several
   * microseconds a call). Besides {@code pipe2} and {@code close}, what {@link CommandLoop} needs
   * to read the pipes and see the root's exit on one thread. Sizes are 64-bit only ({@code
   * size_t} as {@code long}): elsewhere the JDK's pipes serve.
   */
  static final class Libc {
    static final boolean LOADED = load();

    private static boolean load() {
      if (LinuxNative.libc() == null || Native.LONG_SIZE != 8) {
        return false; // not Linux, no JNA (LinuxNative has said so once), or a 32-bit JVM
      }
      try {
        Native.register(Libc.class, "c");
        return true;
      } catch (LinkageError | RuntimeException e) {
        LOG.debug("could not bind pipe2 and close directly ({}); using the JDK's pipes",
            e.toString());
        return false;
      }
    }

    static native int pipe2(int[] fds, int flags);

    static native int close(int fd);

    static native long read(int fd, Pointer buffer, long count);

    static native int poll(Pointer fds, long count, int timeoutMillis);

    static native int waitid(int idType, int id, Pointer info, int options);

    // syscall(2) is variadic; every argument is passed as a long, as the kernel takes them.
    static native long syscall(long number, long arg1, long arg2);
  }

  /**
   * {@code fstat}, bound on its own: glibc exports it as a function only since 2.33, and without
   * it the pipes still serve (their names are then read from the child's {@code /proc} entry).
   */
  static final class Fstat {
    static final boolean LOADED = load();
    // struct stat on 64-bit Linux (x86-64, ARM64, RISC-V, PowerPC, s390x): st_ino is the second
    // 8-byte word, after st_dev. The struct is at most 144 bytes; room to spare. A Java array
    // (copied in and out by JNA) rather than native Memory, which would register a cleaner.
    private static final int ST_INO_WORD = 1;
    private static final int STAT_WORDS = 32;

    private static boolean load() {
      if (!Libc.LOADED || System.getProperty("os.arch", "").startsWith("mips")) {
        return false; // MIPS lays struct stat out differently
      }
      try {
        Native.register(Fstat.class, "c");
        return true;
      } catch (LinkageError | RuntimeException e) {
        LOG.debug("fstat unavailable ({}); naming pipes through /proc", e.toString());
        return false;
      }
    }

    static native int fstat(int fd, long[] stat);

    /** The inode numbers of {@code fds}, or null if one cannot be read. */
    static long[] inodes(int... fds) {
      if (!LOADED) {
        return null;
      }
      long[] stat = new long[STAT_WORDS];
      long[] inodes = new long[fds.length];
      for (int i = 0; i < fds.length; i++) {
        if (fstat(fds[i], stat) != 0) {
          return null;
        }
        inodes[i] = stat[ST_INO_WORD];
      }
      return inodes;
    }
  }

  /**
   * Two fresh pipes, or null where this JVM cannot make them (no JNA, not Linux, or the calls
   * failing, e.g. out of fds): the command then uses the JDK's pipes as on other platforms.
   */
  public static OutputPipes open() {
    if (!Libc.LOADED) {
      return null;
    }
    OutputPipes pipes = new OutputPipes();
    try {
      int[] out = pipes.pipe();
      pipes.stdoutRead = out[0];
      pipes.stdoutWrite = out[1];
      int[] err = pipes.pipe();
      pipes.stderrRead = err[0];
      pipes.stderrWrite = err[1];
      pipes.identities = identities(pipes.stdoutRead, pipes.stderrRead);
      return pipes;
    } catch (IOException | LinkageError | RuntimeException e) {
      pipes.close();
      LOG.debug("could not make a command's output pipes ({}); using the JDK's", e.toString());
      return null;
    }
  }

  private int[] pipe() throws IOException {
    int[] fds = new int[2];
    if (Libc.pipe2(fds, O_CLOEXEC) != 0) {
      throw new IOException("pipe2 failed (errno " + Native.getLastError() + ")");
    }
    return fds;
  }

  /**
   * The pipes' names as {@code readlink} of {@code /proc/<pid>/fd/<n>} shows them for any holder
   * of either end ({@code pipe:[inode]}: both ends share the inode), from two {@code fstat}s of
   * this JVM's own read ends; null where fstat cannot be had.
   */
  private static Set<String> identities(int stdoutFd, int stderrFd) {
    long[] inodes = Fstat.inodes(stdoutFd, stderrFd);
    if (inodes == null) {
      return null;
    }
    return Set.of(
        "pipe:[" + Long.toUnsignedString(inodes[0]) + "]",
        "pipe:[" + Long.toUnsignedString(inodes[1]) + "]");
  }

  /**
   * How {@code /proc} names these two pipes ({@code pipe:[inode]}), as {@link
   * ProcessInspector#outputPipes} reads them from a holder; null where they could not be had
   * (then read them from the child). Known from the start, unlike a child's, which can be gone.
   */
  public Set<String> identities() {
    return identities;
  }

  /** A stream of this JVM's own on the pipe's read end; {@code fd} itself is closed. */
  private static InputStream reopenAndClose(int fd) throws IOException {
    try {
      return new FileInputStream(path(fd));
    } finally {
      Libc.close(fd);
    }
  }

  private static String path(int fd) {
    return "/proc/self/fd/" + fd;
  }

  /** Sends the child's stdout and stderr into these pipes. Call before {@link ProcessBuilder#start}. */
  public void redirect(ProcessBuilder builder) {
    builder.redirectOutput(Redirect.to(new File(path(stdoutWrite))));
    builder.redirectError(Redirect.to(new File(path(stderrWrite))));
  }

  /** The write ends {stdout, stderr}, for a child started by {@link PosixSpawn}. */
  int[] writeFds() {
    return new int[] {stdoutWrite, stderrWrite};
  }

  /**
   * Closes this JVM's write ends, once the child has them (or the start failed), so end-of-file
   * comes when the command's last process closes its copy. Idempotent.
   */
  public void started() {
    stdoutWrite = closeFd(stdoutWrite);
    stderrWrite = closeFd(stderrWrite);
  }

  /**
   * Hands both read ends, as raw fds {stdout, stderr}, to a {@link CommandLoop}, which closes
   * them; these pipes own nothing more to read. Call after {@link #started()}, at most once, and
   * not with {@link #stdout()} or {@link #stderr()}.
   */
  int[] takeReadFds() {
    int[] fds = {stdoutRead, stderrRead};
    stdoutRead = -1;
    stderrRead = -1;
    return fds;
  }

  /** The stdout read end as a stream (for a reader thread of its own), which its reader closes. */
  public InputStream stdout() throws IOException {
    if (stdout == null) {
      stdout = reopenAndClose(stdoutRead);
      stdoutRead = -1;
    }
    return stdout;
  }

  /** The stderr read end as a stream (for a reader thread of its own), which its reader closes. */
  public InputStream stderr() throws IOException {
    if (stderr == null) {
      stderr = reopenAndClose(stderrRead);
      stderrRead = -1;
    }
    return stderr;
  }

  /** Closes everything, read ends included: for when no one will read them. */
  @Override
  public void close() {
    started();
    stdoutRead = closeFd(stdoutRead);
    stderrRead = closeFd(stderrRead);
    closeQuietly(stdout);
    closeQuietly(stderr);
  }

  /** Closes {@code fd} unless it is already gone (-1), and returns -1 to store in its place. */
  private static int closeFd(int fd) {
    if (fd >= 0) {
      Libc.close(fd);
    }
    return -1;
  }

  /**
   * Closes a command's output stream, ours or the JDK's, that no pump will read; null is skipped.
   * Closing a pipe's read end has nothing worth reporting.
   */
  public static void closeQuietly(InputStream in) {
    if (in == null) {
      return;
    }
    try {
      in.close();
    } catch (IOException ignored) {
      // Nothing to report: nobody reads this stream any more.
    }
  }
}
