package dev.buildnet.exec;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Process facts the JDK does not expose cheaply: children without a scan of every process, CPU
 * time including reaped children, resident memory, and who holds a pipe. Implementations are
 * stateless and thread-safe; every method returns empty/null for a process that has gone.
 */
interface ProcessInspector {

  /** One observation of a process. */
  record Stat(
      long pid,
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

  static ProcessInspector forThisHost() {
    return LinuxProcfs.isUsable() ? new LinuxProcfs() : new PortableInspector();
  }
}
