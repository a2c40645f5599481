package dev.buildnet.internal.exec;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link ProcessInspector} on Linux's {@code /proc}. Every read tolerates the process vanishing
 * between two calls: that is the normal case for a build's short-lived processes.
 */
public final class LinuxProcfs implements ProcessInspector {
  private static final Path PROC = Path.of("/proc");
  // /proc reports CPU in USER_HZ ticks, which the kernel fixes at 100 on every architecture the
  // JDK runs on (sysconf(_SC_CLK_TCK) would need native code to ask).
  private static final long NANOS_PER_TICK = 10_000_000L;
  private static final long PF_KTHREAD = 0x00200000L;
  private static final long PF_EXITING = 0x00000004L;
  // Indexes into a stat's fields after the name: field N of proc(5) is at N - 3.
  private static final int FLAGS = 9 - 3;
  private static final int START_CODE = 26 - 3;
  private static final int ENV_START = 50 - 3;
  private static final int ENV_END = 51 - 3;
  // A thread keeps its read buffer up to this size; a larger file's buffer is let go after use.
  private static final int MAX_KEPT_BUFFER = 64 * 1024;
  private static final ThreadLocal<byte[]> READ_BUFFER =
      ThreadLocal.withInitial(() -> new byte[4096]);

  private final long self = ProcessHandle.current().pid();
  private final boolean hasChildrenFiles = childrenFilesExist();

  public static boolean isUsable() {
    return Files.isReadable(PROC.resolve("self/stat"));
  }

  private static boolean childrenFilesExist() {
    // CONFIG_PROC_CHILDREN is on in every mainstream kernel, but not guaranteed.
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(PROC.resolve("self/task"))) {
      for (Path task : tasks) {
        return Files.exists(task.resolve("children"));
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
    return false;
  }

  @Override
  public Map<Long, List<Long>> children(Collection<Long> parents) {
    Map<Long, List<Long>> result = new HashMap<>();
    if (hasChildrenFiles) {
      for (long parent : parents) {
        List<Long> kids = childrenFromTasks(parent);
        if (!kids.isEmpty()) {
          result.put(parent, kids);
        }
      }
      return result;
    }
    Set<Long> wanted = new HashSet<>(parents);
    for (long pid : allPids()) {
      String stat = read(PROC.resolve(pid + "/stat"));
      if (stat != null) {
        String[] f = fieldsAfterName(stat);
        if (f != null && f.length > 1) {
          long ppid = parseLong(f[1]);
          if (wanted.contains(ppid)) {
            result.computeIfAbsent(ppid, k -> new ArrayList<>()).add(pid);
          }
        }
      }
    }
    return result;
  }

  private List<Long> childrenFromTasks(long parent) {
    List<Long> kids = new ArrayList<>();
    // A child is listed under the thread that forked it, so a multi-threaded parent (node, bun, a
    // JVM) needs every task's list.
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(PROC.resolve(parent + "/task"))) {
      for (Path task : tasks) {
        String text = read(task.resolve("children"));
        if (text == null) {
          continue;
        }
        for (String token : text.trim().split("\\s+")) {
          if (!token.isEmpty()) {
            kids.add(Long.parseLong(token));
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // Gone, or not ours to read: no children we can see.
    }
    return kids;
  }

  @Override
  public Stat stat(long pid) {
    String stat = read(PROC.resolve(pid + "/stat"));
    if (stat == null) {
      return null;
    }
    String[] f = fieldsAfterName(stat);
    // f[0] is field 3 (state); utime..cstime are fields 14-17, starttime is field 22.
    if (f == null || f.length < 20) {
      return null;
    }
    boolean zombie = f[0].equals("Z") || f[0].equals("X");
    long ticks = parseLong(f[11]) + parseLong(f[12]) + parseLong(f[13]) + parseLong(f[14]);
    long rss = 0;
    long hwm = 0;
    String status = zombie ? null : read(PROC.resolve(pid + "/status"));
    if (status != null) {
      rss = kilobytesField(status, "VmRSS:");
      hwm = kilobytesField(status, "VmHWM:");
    }
    return new Stat(pid, parseLong(f[1]), parseLong(f[19]), zombie, ticks * NANOS_PER_TICK, rss, hwm);
  }

  @Override
  public Set<String> outputPipes(long pid) {
    Set<String> pipes = new HashSet<>();
    for (int fd = 1; fd <= 2; fd++) {
      String target = readLink(PROC.resolve(pid + "/fd/" + fd));
      if (target != null && target.startsWith("pipe:")) {
        pipes.add(target);
      }
    }
    return pipes;
  }

  @Override
  public List<Long> pipeHolders(Set<String> pipes) {
    List<Long> holders = new ArrayList<>();
    if (pipes.isEmpty()) {
      return holders;
    }
    for (long pid : allPids()) {
      if (pid == self) {
        continue;
      }
      for (int fd = 1; fd <= 2; fd++) {
        String target = readLink(PROC.resolve(pid + "/fd/" + fd));
        if (target != null && pipes.contains(target)) {
          holders.add(pid);
          break;
        }
      }
    }
    return holders;
  }

  @Override
  public List<Long> ownChildren() {
    // The kernel hands an orphan to the first live thread of its subreaper, starting with the
    // main thread, so that one file is nearly always the only one to read. Children the JVM
    // forked itself are listed under the forking thread, but those are not what callers look for.
    String text = read(PROC.resolve(self + "/task/" + self + "/children"));
    if (text == null) {
      return childrenFromTasks(self);
    }
    List<Long> kids = new ArrayList<>();
    for (String token : text.trim().split("\\s+")) {
      if (!token.isEmpty()) {
        kids.add(Long.parseLong(token));
      }
    }
    return kids;
  }

  @Override
  public boolean environmentHas(long pid, Collection<String> entries) {
    return Boolean.TRUE.equals(environmentHolds(pid, entries));
  }

  @Override
  public Boolean environmentHolds(long pid, Collection<String> entries) {
    // The stat first: it says where the environment lies and whether the process is between two
    // programs; what environ yields is only believed if it fills exactly that span.
    String[] before = fieldsAfterName(read(PROC.resolve(pid + "/stat")));
    if (before == null || exited(before)) {
      return false;
    }
    String env = read(PROC.resolve(pid + "/environ"));
    String[] after = env == null ? fieldsAfterName(read(PROC.resolve(pid + "/stat"))) : null;
    return environmentVerdict(before, env, after, entries);
  }

  /**
   * What a process's environment says about {@code entries}, from its stat's fields (after the
   * name) read before its environ, the environ (null if it could not be read) and, in that case,
   * its stat read again (null if gone). True if an entry was read; false if it surely has none,
   * is gone, or is not ours to read; null if that cannot be told yet:
   *
   * <ul>
   *   <li>An exec that replaces the process's memory while we read cuts the read short (the old
   *       memory is gone), and one laying out the new environment reads as empty (see {@link
   *       #execInProgress}): either way what was read does not fill the span the stat gave.
   *   <li>A process that is exiting has let its memory go, so its environ cannot be opened, and
   *       it hands its own children to its subreaper only when it is a zombie: a daemon whose
   *       parent is caught exiting would be missed if the parent were taken for unmarked.
   * </ul>
   */
  static Boolean environmentVerdict(
      String[] before, String env, String[] after, Collection<String> entries) {
    if (env == null) {
      // Gone, another user's (not permitted), or exiting.
      boolean exiting =
          after != null
              && after.length > FLAGS
              && !exited(after)
              && (parseLong(after[FLAGS]) & PF_EXITING) != 0;
      return exiting ? null : Boolean.FALSE;
    }
    for (String nameEqualsValue : entries) {
      // Entries are NUL-terminated; match a whole entry, not the tail of another one's value.
      String entry = nameEqualsValue + '\0';
      if (env.startsWith(entry) || env.contains('\0' + entry)) {
        return true; // what was read was there, whatever happened since
      }
    }
    if (before.length <= ENV_END) {
      return false; // a kernel older than 3.5 does not say where the environment lies
    }
    if ((parseLong(before[FLAGS]) & PF_KTHREAD) != 0) {
      return false; // a kernel thread has no environment, ever
    }
    long span = Math.max(0, parseLong(before[ENV_END]) - parseLong(before[ENV_START]));
    return execInProgress(before) || env.length() != span ? null : Boolean.FALSE;
  }

  private static boolean exited(String[] f) {
    return f.length < 1 || f[0].equals("Z") || f[0].equals("X");
  }

  /**
   * Whether a process's stat (the fields after its name) says it is between two programs, where
   * its environment reads as empty. An exec installs the new program's memory first and says
   * where the environment lies last: {@code create_elf_tables} sets env_start and env_end equal,
   * writes a pointer to each variable, and only then moves env_end to the end, which takes a
   * while for a large environment and may be preempted on a loaded machine. Only after that is
   * start_code recorded, so a start_code of 0 means the exec is not over, whatever env_end says.
   * A process that is exiting has no memory at all, which reads the same way until it is a
   * zombie. A process that really has an empty environment has both set: it is not pending, or a
   * stop that met one among its candidates would look again until it gave up.
   */
  static boolean execInProgress(String[] f) {
    return parseLong(f[START_CODE]) == 0 || parseLong(f[ENV_END]) == 0;
  }

  @Override
  public List<Long> allProcesses() {
    return allPids();
  }

  private static List<Long> allPids() {
    List<Long> pids = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (!name.isEmpty() && Character.isDigit(name.charAt(0))) {
          try {
            pids.add(Long.parseLong(name));
          } catch (NumberFormatException ignored) {
            // not a process directory
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // An unreadable /proc means we see nothing; callers treat that as "no processes".
    }
    return pids;
  }

  /** The fields after the parenthesised command name, which may itself contain spaces and ')'. */
  static String[] fieldsAfterName(String stat) {
    if (stat == null) {
      return null;
    }
    int close = stat.lastIndexOf(')');
    if (close < 0 || close + 2 > stat.length()) {
      return null;
    }
    return stat.substring(close + 2).trim().split(" ");
  }

  private static long kilobytesField(String status, String key) {
    int at = status.indexOf(key);
    if (at < 0) {
      return 0;
    }
    int end = status.indexOf('\n', at);
    String value = status.substring(at + key.length(), end < 0 ? status.length() : end).trim();
    int space = value.indexOf(' ');
    return parseLong(space < 0 ? value : value.substring(0, space)) * 1024;
  }

  private static long parseLong(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String read(Path file) {
    return read(file.toString(), 2048);
  }

  /**
   * The whole of a /proc file, or null if it cannot be read (the process is gone); {@code size}
   * is a first guess, doubled as needed. Also used by {@link PidWindow}.
   */
  static String read(String file, int size) {
    // A plain read loop: /proc files report size 0, and Files.readAllBytes pays for a channel
    // and a size query on every one of the many small reads a sample makes.
    try (FileInputStream in = new FileInputStream(file)) {
      // Each thread reuses one buffer: a command's start and end read /proc/stat, up to 16 KiB
      // on a large machine, and allocating that for each read showed in the spawn profile.
      byte[] buffer = READ_BUFFER.get();
      if (buffer.length < size) {
        buffer = new byte[size];
      }
      int length = 0;
      int n;
      while ((n = in.read(buffer, length, buffer.length - length)) > 0) {
        length += n;
        if (length == buffer.length) {
          buffer = Arrays.copyOf(buffer, buffer.length * 2);
        }
      }
      if (buffer.length <= MAX_KEPT_BUFFER) {
        READ_BUFFER.set(buffer);
      }
      // ISO-8859-1 maps every byte: a command name is not guaranteed to be UTF-8.
      return new String(buffer, 0, length, StandardCharsets.ISO_8859_1);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static String readLink(Path link) {
    try {
      return Files.readSymbolicLink(link).toString();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
