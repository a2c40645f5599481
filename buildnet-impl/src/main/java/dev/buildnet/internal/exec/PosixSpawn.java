package dev.buildnet.internal.exec;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a command with glibc's {@code posix_spawn} through JNA's direct mapping instead of
 * {@link ProcessBuilder} (Linux, glibc 2.34 or later, a kernel with pidfds).
 *
 * <p><b>Why.</b> The JDK's start costs more than the fork and exec: a {@link Process} whose
 * reaper thread per process waits for the exit, and, for the provider, a hand-off from that
 * thread. Here the child is this JVM's own: a {@link SpawnedProcess} whose status the command's
 * {@link CommandLoop} reads and reaps itself when the pidfd it already polls says the child exited.
 *
 * <p><b>What the child gets</b>, as the JDK would set it up: {@link OutputPipes}' write ends on
 * fds 1 and 2 and a pipe whose write end is closed at once on fd 0 (end-of-file, as when the
 * provider closes the JDK's stdin stream), the working directory ({@code
 * posix_spawn_file_actions_addchdir_np}), every other fd closed ({@code addclosefrom_np(3)}), this
 * JVM's process group and session, exactly the environment given, and the signal mask cleared and
 * every signal's disposition reset to the default ({@code POSIX_SPAWN_SETSIGMASK | SETSIGDEF}:
 * unlike the JDK, a signal this JVM ignores is not ignored by the child). Strings are encoded in
 * the default charset, as the JDK encodes them.
 *
 * <p><b>Finding the program</b> as the JDK does: a name with a {@code /} is run as given (relative
 * to the working directory); otherwise every directory of this JVM's {@code PATH} (not the
 * child's; {@code :/bin:/usr/bin} when unset; an empty entry is the working directory) is tried in
 * turn, skipping those where it is missing or not executable, and a file the kernel cannot execute
 * as a program ({@code ENOEXEC}) is run by {@code /bin/sh}. Failures carry the JDK's message, so
 * {@link StartFailures} explains them the same way.
 */
public final class PosixSpawn {
  private static final Logger LOG = LoggerFactory.getLogger(PosixSpawn.class);
  static final long SYS_PIDFD_SEND_SIGNAL = 424;
  private static final int O_CLOEXEC = 02000000;
  private static final int X_OK = 1;
  private static final int SIGKILL = 9;
  private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
  private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
  // glibc's sizes on 64-bit Linux are 80 and 336 bytes; room to spare.
  private static final int FILE_ACTIONS_BYTES = 256;
  private static final int ATTR_BYTES = 1024;
  private static final int SIGSET_BYTES = 128;
  private static final int ENOENT = 2;
  private static final int EACCES = 13;
  private static final int ENOEXEC = 8;
  private static final int ENOTDIR = 20;
  private static final int ENODEV = 19;
  private static final int ELOOP = 40;
  private static final int ETIMEDOUT = 110;
  private static final int ESTALE = 116;
  private static final List<String> SEARCH_PATH = searchPath(System.getenv("PATH"));

  private PosixSpawn() {}

  /**
   * The C calls, bound by direct mapping; binding fails (and this path is not used) where one is
   * missing, e.g. a glibc before 2.34 without {@code addclosefrom_np}.
   */
  static final class Lib {
    static final boolean LOADED = load();

    private static boolean load() {
      if (!OutputPipes.Libc.LOADED || System.getProperty("os.arch", "").startsWith("mips")) {
        return false; // no JNA or not 64-bit (OutputPipes decides), or MIPS's siginfo layout
      }
      try {
        Native.register(Lib.class, "c");
        return true;
      } catch (LinkageError | RuntimeException e) {
        LOG.debug("posix_spawn with addchdir_np and addclosefrom_np unavailable ({}); "
            + "starting commands with ProcessBuilder", e.toString());
        return false;
      }
    }

    static native int posix_spawn(
        int[] pid, Pointer path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp);

    static native int posix_spawn_file_actions_init(Pointer fileActions);

    static native int posix_spawn_file_actions_destroy(Pointer fileActions);

    static native int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newFd);

    static native int posix_spawn_file_actions_addchdir_np(Pointer fileActions, Pointer path);

    static native int posix_spawn_file_actions_addclosefrom_np(Pointer fileActions, int from);

    static native int posix_spawnattr_init(Pointer attr);

    static native int posix_spawnattr_setflags(Pointer attr, short flags);

    static native int posix_spawnattr_setsigmask(Pointer attr, Pointer mask);

    static native int posix_spawnattr_setsigdefault(Pointer attr, Pointer signals);

    static native int sigemptyset(Pointer set);

    static native int sigfillset(Pointer set);

    static native int access(Pointer path, int mode);

    static native int kill(int pid, int signal);

    static native int waitpid(int pid, int[] status, int options);

    static native String strerror(int errno);

    // syscall(2) is variadic; every argument is passed as a long, as the kernel takes them.
    static native long syscall(long number, long arg1, long arg2, long arg3, long arg4);
  }

  /** The spawn attributes every command shares (read-only once made), or null if unavailable. */
  private static final class Attr {
    static final Memory ATTR = make();

    private static Memory make() {
      if (!Lib.LOADED) {
        return null;
      }
      try {
        // A pidfd of this JVM itself: the kernel has pidfds (5.3) and no seccomp filter denies them.
        long self = Lib.syscall(ChildStatus.SYS_PIDFD_OPEN, ProcessHandle.current().pid(), 0, 0, 0);
        if (self < 0) {
          LOG.debug("pidfd_open failed (errno {}); starting commands with ProcessBuilder",
              Native.getLastError());
          return null;
        }
        OutputPipes.Libc.close((int) self);
        Memory attr = new Memory(ATTR_BYTES);
        Memory none = new Memory(SIGSET_BYTES);
        Memory all = new Memory(SIGSET_BYTES);
        if (Lib.posix_spawnattr_init(attr) != 0
            || Lib.sigemptyset(none) != 0
            || Lib.sigfillset(all) != 0
            || Lib.posix_spawnattr_setsigmask(attr, none) != 0
            || Lib.posix_spawnattr_setsigdefault(attr, all) != 0
            || Lib.posix_spawnattr_setflags(
                    attr, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0) {
          LOG.debug("posix_spawnattr set-up failed; starting commands with ProcessBuilder");
          return null;
        }
        return attr;
      } catch (LinkageError | RuntimeException e) {
        LOG.debug("posix_spawn set-up failed ({}); starting commands with ProcessBuilder",
            e.toString());
        return null;
      }
    }
  }

  /** Whether {@link #start} can be used on this JVM (and, where not, ProcessBuilder serves). */
  public static boolean isAvailable() {
    return Attr.ATTR != null;
  }

  /**
   * Starts {@code argv} in {@code dir} with exactly {@code env}, its stdout and stderr on {@code
   * pipes}' write ends (which the caller then closes with {@link OutputPipes#started()}).
   *
   * @throws IOException with the JDK's message if the program cannot be run (not found, not
   *     executable, a missing directory) or an argument holds a NUL character
   * @throws IllegalArgumentException if an environment name or value is not allowed, as the
   *     JDK's
   */
  public static Process start(List<String> argv, Path dir, Map<String, String> env, OutputPipes pipes)
      throws IOException {
    for (String arg : argv) {
      if (arg.indexOf('\u0000') >= 0) {
        throw new IOException("invalid null character in command");
      }
    }
    Charset charset = Charset.defaultCharset();
    List<String> entries = new ArrayList<>(env.size());
    env.forEach(
        (name, value) -> {
          if (name.indexOf('=') >= 0 || name.indexOf('\u0000') >= 0) {
            throw new IllegalArgumentException("Invalid environment variable name: \"" + name + "\"");
          }
          if (value.indexOf('\u0000') >= 0) {
            throw new IllegalArgumentException(
                "Invalid environment variable value: \"" + value + "\"");
          }
          entries.add(name + "=" + value);
        });
    CStrings strings = new CStrings(charset, argv, entries, dir.toString());
    int[] stdin = new int[2];
    if (OutputPipes.Libc.pipe2(stdin, O_CLOEXEC) != 0) {
      throw failure(argv.get(0), dir, Native.getLastError());
    }
    Memory actions = new Memory(FILE_ACTIONS_BYTES);
    int[] pid = new int[1];
    int error;
    try {
      error = Lib.posix_spawn_file_actions_init(actions);
      if (error != 0) {
        throw failure(argv.get(0), dir, error);
      }
      try {
        int[] fds = pipes.writeFds();
        if ((error = Lib.posix_spawn_file_actions_adddup2(actions, stdin[0], 0)) != 0
            || (error = Lib.posix_spawn_file_actions_adddup2(actions, fds[0], 1)) != 0
            || (error = Lib.posix_spawn_file_actions_adddup2(actions, fds[1], 2)) != 0
            || (error = Lib.posix_spawn_file_actions_addchdir_np(actions, strings.dir())) != 0
            || (error = Lib.posix_spawn_file_actions_addclosefrom_np(actions, 3)) != 0) {
          throw failure(argv.get(0), dir, error);
        }
        error = spawn(argv.get(0), dir, strings, actions, pid);
      } finally {
        Lib.posix_spawn_file_actions_destroy(actions);
      }
    } finally {
      OutputPipes.Libc.close(stdin[0]);
      OutputPipes.Libc.close(stdin[1]);
    }
    if (error != 0) {
      throw failure(argv.get(0), dir, error);
    }
    long pidfd = Lib.syscall(ChildStatus.SYS_PIDFD_OPEN, pid[0], 0, 0, 0);
    if (pidfd < 0) {
      // Out of fds, say: without a pidfd the child cannot be watched; it is ours, not reaped yet,
      // so its pid cannot be anyone else's.
      int errno = Native.getLastError();
      Lib.kill(pid[0], SIGKILL);
      Lib.waitpid(pid[0], new int[1], 0);
      throw failure(argv.get(0), dir, errno);
    }
    return SpawnedProcess.adopt(pid[0], (int) pidfd);
  }

  /** Tries each candidate for the program as the JDK's {@code JDK_execvpe} does; 0 or an errno. */
  private static int spawn(String program, Path dir, CStrings strings, Memory actions, int[] pid) {
    if (program.isEmpty()) {
      return ENOENT;
    }
    if (program.indexOf('/') >= 0) {
      return spawnOne(program, strings, actions, pid);
    }
    int sticky = 0;
    int error = ENOENT;
    for (String entry : SEARCH_PATH) {
      String candidate = entry + program;
      Path resolved = dir.resolve(candidate);
      // Where the program is not, or not executable, the JDK's exec fails and it tries the next
      // directory: a cheap access() skips that spawn.
      if (Lib.access(strings.encode(resolved.toString()), X_OK) == 0) {
        error = spawnOne(candidate, strings, actions, pid);
        if (error == ENOENT && !Files.isDirectory(dir)) {
          return ENOENT; // the working directory is missing: the JDK's chdir fails first
        }
      } else {
        error = Native.getLastError();
      }
      if (error == 0) {
        return 0;
      }
      if (error == EACCES) {
        sticky = EACCES;
      } else if (!skipsToNext(error)) {
        return error;
      }
    }
    return sticky != 0 ? sticky : error;
  }

  private static boolean skipsToNext(int error) {
    return error == ENOENT || error == ENOTDIR || error == ELOOP || error == ESTALE
        || error == ENODEV || error == ETIMEDOUT;
  }

  /** One posix_spawn of {@code file}; a file that is not a program is run by /bin/sh. */
  private static int spawnOne(String file, CStrings strings, Memory actions, int[] pid) {
    Pointer path = strings.encode(file);
    int error = Lib.posix_spawn(pid, path, actions, Attr.ATTR, strings.argv(), strings.envp());
    if (error == ENOEXEC) {
      Pointer shell = strings.encode("/bin/sh");
      error =
          Lib.posix_spawn(pid, shell, actions, Attr.ATTR, strings.shellArgv(shell, path),
              strings.envp());
    }
    return error;
  }

  /** The JDK's exception for a failed start: its message, its cause. */
  private static IOException failure(String program, Path dir, int errno) {
    String detail = "error=" + errno + ", " + Lib.strerror(errno);
    return new IOException(
        "Cannot run program \"" + program + "\" (in directory \"" + dir + "\"): " + detail,
        new IOException(detail));
  }

  /** The JDK's {@code parentPathv}: PATH's directories, each ending in '/', "" as "./". */
  static List<String> searchPath(String path) {
    String effective = path != null ? path : ":/bin:/usr/bin";
    List<String> dirs = new ArrayList<>();
    for (String entry : effective.split(":", -1)) {
      String dir = entry.isEmpty() ? "./" : entry;
      dirs.add(dir.endsWith("/") ? dir : dir + "/");
    }
    return dirs;
  }

  /** argv, envp and the directory as C strings in native memory, kept alive by this object. */
  private static final class CStrings {
    private final Charset charset;
    private final List<String> argvStrings;
    private final Memory argv;
    private final Memory envp;
    private final Memory dir;
    // Native memory handed to posix_spawn must outlive the call: referenced from here.
    private final List<Memory> extra = new ArrayList<>(2);

    CStrings(Charset charset, List<String> argv, List<String> env, String dir) {
      this.charset = charset;
      this.argvStrings = argv;
      this.argv = array(argv, 0);
      this.envp = array(env, 0);
      this.dir = encode(dir);
    }

    private Memory array(List<String> strings, int skip) {
      byte[][] bytes = new byte[strings.size() - skip][];
      long total = 0;
      for (int i = skip; i < strings.size(); i++) {
        bytes[i - skip] = strings.get(i).getBytes(charset);
        total += bytes[i - skip].length + 1;
      }
      long pointers = (long) (bytes.length + 1) * Native.POINTER_SIZE;
      Memory block = new Memory(pointers + Math.max(total, 1));
      long at = pointers;
      for (int i = 0; i < bytes.length; i++) {
        block.setPointer((long) i * Native.POINTER_SIZE, block.share(at));
        block.write(at, bytes[i], 0, bytes[i].length);
        block.setByte(at + bytes[i].length, (byte) 0);
        at += bytes[i].length + 1;
      }
      block.setPointer((long) bytes.length * Native.POINTER_SIZE, null);
      return block;
    }

    Memory encode(String s) {
      byte[] bytes = s.getBytes(charset);
      Memory m = new Memory(bytes.length + 1L);
      m.write(0, bytes, 0, bytes.length);
      m.setByte(bytes.length, (byte) 0);
      extra.add(m);
      return m;
    }

    Pointer argv() {
      return argv;
    }

    Pointer envp() {
      return envp;
    }

    Pointer dir() {
      return dir;
    }

    /** {@code /bin/sh file argv[1]...}, as the JDK runs a script without a {@code #!} line. */
    Pointer shellArgv(Pointer shell, Pointer file) {
      Memory rest = array(argvStrings, 1);
      extra.add(rest);
      int n = argvStrings.size() - 1;
      Memory block = new Memory((long) (n + 3) * Native.POINTER_SIZE);
      block.setPointer(0, shell);
      block.setPointer(Native.POINTER_SIZE, file);
      for (int i = 0; i < n; i++) {
        block.setPointer((long) (i + 2) * Native.POINTER_SIZE,
            rest.getPointer((long) i * Native.POINTER_SIZE));
      }
      block.setPointer((long) (n + 2) * Native.POINTER_SIZE, null);
      extra.add(block);
      return block;
    }
  }
}
