package dev.buildnet.internal.exec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a provider's running commands are, on disk, so that processes which outlive a JVM killed
 * with {@code kill -9} (which runs no shutdown hook) are killed the next time a provider starts
 * with the same directory.
 *
 * <p>Each provider writes its own file, {@code <jvm pid>-<random>.procs}: its owner (this JVM's
 * pid and start time), each running command's mark ({@code BUILDNET_TARGET_TOKEN=…}) and each
 * process seen in its tree, by pid and start time ({@code /proc/PID/stat} field 22, in clock
 * ticks since boot). The file is rewritten (atomically, by rename) when a command starts, when a
 * new member is seen and when a command ends, and removed when nothing runs. It is not synced to
 * disk: after a crash of the machine the processes are gone too.
 *
 * <p>{@link #killLeftovers} reads every file whose owner is no longer alive (its pid gone, or now
 * a different process) and kills, with SIGKILL, every process that still carries one of its marks
 * in its environment, and every recorded process whose start time is still the recorded one. A pid
 * that was recycled has another start time and is left alone. Linux only.
 */
public final class LeftoverRecord {
  private static final Logger LOG = LoggerFactory.getLogger(LeftoverRecord.class);
  private static final String SUFFIX = ".procs";
  private static final String HEADER = "buildnet-processes 1";

  private final ProcessInspector inspector;
  private final Path file;
  private final long ownerPid;
  private final long ownerStartTicks;
  /** Per running command (by mark): its members as pid → start ticks. */
  private final Map<String, Map<Long, Long>> commands = new LinkedHashMap<>();
  private boolean warned;

  private LeftoverRecord(ProcessInspector inspector, Path dir) {
    this.inspector = inspector;
    this.ownerPid = ProcessHandle.current().pid();
    ProcessInspector.Stat self = inspector.stat(ownerPid);
    this.ownerStartTicks = self == null ? -1 : self.startTicks();
    this.file = dir.resolve(ownerPid + "-" + UUID.randomUUID() + SUFFIX);
  }

  /** A record in {@code dir} (created when first written), or null where it cannot work. */
  public static LeftoverRecord in(Path dir, ProcessInspector inspector) {
    return inspector instanceof LinuxProcfs ? new LeftoverRecord(inspector, dir) : null;
  }

  public synchronized void started(String mark, long pid) {
    commands.put(mark, new LinkedHashMap<>());
    ProcessInspector.Stat s = inspector.stat(pid);
    if (s != null) {
      commands.get(mark).put(pid, s.startTicks());
    }
    write();
  }

  public synchronized void member(String mark, long pid, long startTicks) {
    Map<Long, Long> members = commands.get(mark);
    if (members != null && members.put(pid, startTicks) == null) {
      write();
    }
  }

  public synchronized void ended(String mark) {
    if (commands.remove(mark) != null) {
      write();
    }
  }

  private void write() {
    try {
      if (commands.isEmpty()) {
        Files.deleteIfExists(file);
        return;
      }
      StringBuilder text = new StringBuilder(HEADER).append('\n');
      text.append("owner ").append(ownerPid).append(' ').append(ownerStartTicks).append('\n');
      commands.forEach(
          (mark, members) -> {
            text.append("mark ").append(mark).append('\n');
            members.forEach(
                (pid, ticks) -> text.append("proc ").append(pid).append(' ').append(ticks).append('\n'));
          });
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException | RuntimeException e) {
      if (!warned) {
        warned = true;
        LOG.warn(
            "cannot record running commands in {} ({}); if this JVM is killed with SIGKILL, "
                + "their processes will not be cleaned up by the next start",
            file,
            e.toString());
      }
    }
  }

  /**
   * Kills what dead owners recorded in {@code dir} and removes their files; leaves files of owners
   * that are still alive. Returns how many processes it killed.
   */
  public static int killLeftovers(Path dir, ProcessInspector inspector) {
    if (!(inspector instanceof LinuxProcfs) || !Files.isDirectory(dir)) {
      return 0;
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
      entries.forEach(files::add);
    } catch (IOException e) {
      LOG.warn("cannot read the record of earlier commands in {}: {}", dir, e.toString());
      return 0;
    }
    List<String> marks = new ArrayList<>();
    Map<Long, Long> recorded = new LinkedHashMap<>();
    List<Path> stale = new ArrayList<>();
    List<Long> owners = new ArrayList<>();
    for (Path f : files) {
      List<String> lines;
      try {
        lines = Files.readAllLines(f, StandardCharsets.UTF_8);
      } catch (IOException e) {
        continue; // removed by its owner between the listing and the read
      }
      if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
        continue; // not ours, or written by a later version: leave it
      }
      long[] owner = null;
      List<String> fileMarks = new ArrayList<>();
      Map<Long, Long> fileProcs = new LinkedHashMap<>();
      for (String line : lines) {
        String[] f2 = line.split(" ");
        try {
          if (f2.length == 3 && f2[0].equals("owner")) {
            owner = new long[] {Long.parseLong(f2[1]), Long.parseLong(f2[2])};
          } else if (f2.length == 2 && f2[0].equals("mark")) {
            fileMarks.add(f2[1]);
          } else if (f2.length == 3 && f2[0].equals("proc")) {
            fileProcs.put(Long.parseLong(f2[1]), Long.parseLong(f2[2]));
          }
        } catch (NumberFormatException e) {
          // a line torn by hand-editing: skip it
        }
      }
      if (owner == null || isAlive(inspector, owner[0], owner[1])) {
        continue;
      }
      owners.add(owner[0]);
      marks.addAll(fileMarks);
      recorded.putAll(fileProcs);
      stale.add(f);
    }
    if (stale.isEmpty()) {
      return 0;
    }
    int killed = 0;
    long self = ProcessHandle.current().pid();
    for (Map.Entry<Long, Long> e : recorded.entrySet()) {
      if (e.getKey() != self && kill(inspector, e.getKey(), e.getValue())) {
        killed++;
      }
    }
    if (!marks.isEmpty()) {
      // Processes that were born after the last rewrite of the file, or that it never saw, still
      // carry their command's mark.
      for (long pid : inspector.allProcesses()) {
        if (pid != self
            && !recorded.containsKey(pid)
            && inspector.environmentHas(pid, marks)
            && kill(inspector, pid, -1)) {
          killed++;
        }
      }
    }
    for (Path f : stale) {
      try {
        Files.deleteIfExists(f);
      } catch (IOException e) {
        LOG.warn("cannot remove {}: {}", f, e.toString());
      }
    }
    if (killed > 0) {
      LOG.info(
          "killed {} process(es) left running by BuildNet in an earlier JVM (pid {}) that ended "
              + "without stopping them",
          killed,
          owners);
    }
    return killed;
  }

  private static boolean isAlive(ProcessInspector inspector, long pid, long startTicks) {
    ProcessInspector.Stat s = inspector.stat(pid);
    return s != null && !s.zombie() && s.startTicks() == startTicks;
  }

  /** SIGKILL to {@code pid} if it still is the process that started at {@code startTicks}. */
  private static boolean kill(ProcessInspector inspector, long pid, long startTicks) {
    // The handle first: the JDK notes the start time it sees now and checks it again before it
    // signals, so a pid recycled after the check below is not hit either.
    java.util.Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty()) {
      return false;
    }
    ProcessInspector.Stat s = inspector.stat(pid);
    if (s == null || s.zombie() || (startTicks >= 0 && s.startTicks() != startTicks)) {
      return false;
    }
    return handle.get().destroyForcibly();
  }
}
