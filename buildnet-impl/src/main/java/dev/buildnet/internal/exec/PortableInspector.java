package dev.buildnet.internal.exec;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@link ProcessInspector} where there is no {@code /proc}: the JDK's {@link ProcessHandle} only.
 * CPU time is the process's own (not its reaped children's), memory is unknown, and processes that
 * hold a command's pipes cannot be found.
 */
final class PortableInspector implements ProcessInspector {

  @Override
  public Map<Long, List<Long>> children(Collection<Long> parents) {
    Map<Long, List<Long>> result = new HashMap<>();
    for (long parent : parents) {
      Optional<ProcessHandle> handle = ProcessHandle.of(parent);
      if (handle.isPresent()) {
        List<Long> kids = new ArrayList<>();
        handle.get().children().forEach(c -> kids.add(c.pid()));
        if (!kids.isEmpty()) {
          result.put(parent, kids);
        }
      }
    }
    return result;
  }

  @Override
  public Stat stat(long pid) {
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty() || !handle.get().isAlive()) {
      return null;
    }
    ProcessHandle.Info info = handle.get().info();
    long start = info.startInstant().map(Instant::toEpochMilli).orElse(0L);
    long cpu = info.totalCpuDuration().map(Duration::toNanos).orElse(0L);
    long ppid = handle.get().parent().map(ProcessHandle::pid).orElse(-1L);
    return new Stat(pid, ppid, start, false, cpu, 0, 0);
  }

  @Override
  public Set<String> outputPipes(long pid) {
    return Set.of();
  }

  @Override
  public List<Long> pipeHolders(Set<String> pipes) {
    return List.of();
  }

  @Override
  public List<Long> ownChildren() {
    return List.of();
  }

  @Override
  public boolean environmentHas(long pid, Collection<String> entries) {
    return false;
  }

  @Override
  public List<Long> allProcesses() {
    return List.of();
  }
}
