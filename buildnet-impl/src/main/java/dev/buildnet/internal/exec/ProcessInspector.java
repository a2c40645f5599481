package dev.buildnet.internal.exec;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Process facts the JDK does not expose cheaply: children without a scan of every process, CPU
 * time including reaped children, resident memory, and who holds a pipe. Implementations are
 * stateless and thread-safe; every method returns empty/null for a process that has gone.
 */
public interface ProcessInspector {

  /** One observation of a process. */
  record Stat(
      long pid,
      long ppid,
      long startTicks,
      boolean zombie,
      long cpuNanos,
      long rssBytes,
      long peakRssBytes) {}

  /** The direct children of each of {@code parents} that still exist. */
  Map<Long, List<Long>> children(Collection<Long> parents);

  /** The process now; null if it does not exist (or cannot be read). */
  Stat stat(long pid);

  /** Identifiers of the pipes on {@code pid}'s stdout and stderr, e.g. {@code pipe:[4242]}. */
  Set<String> outputPipes(long pid);

  /** Processes other than this JVM whose stdout or stderr is one of {@code pipes}. */
  List<Long> pipeHolders(Set<String> pipes);

  /**
   * The children of this JVM, including the orphans it adopted as a subreaper; empty where that
   * cannot be known cheaply.
   */
  List<Long> ownChildren();

  /**
   * True if {@code pid}'s environment holds exactly one of {@code entries} ({@code NAME=value}
   * each); false if not, or if it cannot be read (gone, a zombie, another user's).
   */
  boolean environmentHas(long pid, Collection<String> entries);

  /**
   * {@link #environmentHas}, or null when that cannot be told yet: {@code pid} is between two
   * programs, inside an exec (or an exit), where its environment reads as empty though it is about
   * to have one again.
   */
  default Boolean environmentHolds(long pid, Collection<String> entries) {
    return environmentHas(pid, entries);
  }

  /** Every process on the machine; empty where that cannot be known. */
  List<Long> allProcesses();

  static ProcessInspector forThisHost() {
    return LinuxProcfs.isUsable() ? new LinuxProcfs() : new PortableInspector();
  }
}
