package dev.buildnet.exec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every process one command is known to have started, with what they cost.
 *
 * <p>Members are found by walking children from every live member, so a process whose parent
 * died stays known once seen; and, on request, by finding processes that still hold the command's
 * stdout or stderr pipe, which catches double-forked children that were never seen as children.
 * Signals go through {@link ProcessHandle}s taken when a member was found; the JDK checks the
 * start time before signalling, so a recycled pid is never hit.
 *
 * <p>Not thread-safe: used only on the provider's scheduler thread.
 */
final class ProcessTree {
  private static final long SELF = ProcessHandle.current().pid();

  private final ProcessInspector inspector;
  private final Set<String> pipes;
  private final Map<Long, Member> members = new LinkedHashMap<>();
  private long peakRssBytes;
  private long peakCpuNanos;

  private static final class Member {
    final ProcessHandle handle;
    long startTicks = -1;
    boolean gone;
    boolean politeSignalSent;

    Member(ProcessHandle handle) {
      this.handle = handle;
    }
  }

  ProcessTree(ProcessInspector inspector, ProcessHandle root) {
    this.inspector = inspector;
    this.pipes = ownPipesExcluded(inspector, inspector.outputPipes(root.pid()));
    members.put(root.pid(), new Member(root));
  }

  /**
   * If a child could not be set up in time we might read a pipe this JVM itself writes to; hunting
   * that pipe's holders would hit unrelated processes, so it is never used.
   */
  private static Set<String> ownPipesExcluded(ProcessInspector inspector, Set<String> pipes) {
    Set<String> result = new HashSet<>(pipes);
    result.removeAll(inspector.outputPipes(SELF));
    return Set.copyOf(result);
  }

  /**
   * Finds members not seen yet (with {@code scanPipes}, also by a scan of every process for the
   * command's pipes, which costs a read of each process's fds) and samples every live member.
   */
  void refresh(boolean scanPipes) {
    List<Long> frontier = new ArrayList<>();
    if (scanPipes) {
      for (long pid : inspector.pipeHolders(pipes)) {
        if (track(pid)) {
          frontier.add(pid);
        }
      }
    }
    frontier.addAll(livePids());
    Set<Long> visited = new HashSet<>();
    while (!frontier.isEmpty()) {
      visited.addAll(frontier);
      List<Long> next = new ArrayList<>();
      for (List<Long> kids : inspector.children(frontier).values()) {
        for (long kid : kids) {
          if (!visited.contains(kid) && track(kid)) {
            next.add(kid);
          }
        }
      }
      frontier = next;
    }
    sample();
  }

  private boolean track(long pid) {
    if (pid == SELF || pid <= 1) {
      return false;
    }
    Member existing = members.get(pid);
    if (existing != null && !existing.gone) {
      return false;
    }
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty()) {
      return false;
    }
    members.put(pid, new Member(handle.get()));
    return true;
  }

  private void sample() {
    long rss = 0;
    long cpu = 0;
    for (Map.Entry<Long, Member> e : members.entrySet()) {
      Member m = e.getValue();
      if (m.gone) {
        continue;
      }
      ProcessInspector.Stat s = inspector.stat(e.getKey());
      if (s == null || s.zombie() || (m.startTicks >= 0 && s.startTicks() != m.startTicks)) {
        m.gone = true;
        continue;
      }
      m.startTicks = s.startTicks();
      rss += s.rssBytes();
      cpu += s.cpuNanos();
      peakRssBytes = Math.max(peakRssBytes, s.peakRssBytes());
    }
    peakRssBytes = Math.max(peakRssBytes, rss);
    peakCpuNanos = Math.max(peakCpuNanos, cpu);
  }

  private List<Long> livePids() {
    List<Long> pids = new ArrayList<>();
    members.forEach(
        (pid, m) -> {
          if (!m.gone) {
            pids.add(pid);
          }
        });
    return pids;
  }

  /** True when no member is alive (zombies count as gone: they hold nothing but a pid). */
  boolean allGone() {
    for (Member m : members.values()) {
      if (!m.gone) {
        return false;
      }
    }
    return true;
  }

  /** Sends the polite signal (SIGTERM) once to every live member that has not had it. */
  void signalPolitely() {
    for (Member m : members.values()) {
      if (!m.gone && !m.politeSignalSent) {
        m.politeSignalSent = true;
        m.handle.destroy();
      }
    }
  }

  /** Sends SIGKILL to every live member. */
  void signalForcibly() {
    for (Member m : members.values()) {
      if (!m.gone) {
        m.handle.destroyForcibly();
      }
    }
  }

  /** The largest summed CPU time of the live members seen at any sample (see the provider doc). */
  long peakCpuNanos() {
    return peakCpuNanos;
  }

  /** The larger of the summed resident sets at any sample and any member's own high-water mark. */
  long peakRssBytes() {
    return peakRssBytes;
  }

  /** Every member's pid, live or gone, in the order found. */
  List<Long> knownPids() {
    return List.copyOf(members.keySet());
  }
}
