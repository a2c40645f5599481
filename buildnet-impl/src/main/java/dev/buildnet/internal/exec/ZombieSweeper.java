package dev.buildnet.internal.exec;

import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Reaps zombie children of this JVM that no one else will. As a subreaper this JVM adopts every
 * orphan below it; one that ends before any command claimed it (a short-lived background job of a
 * command that had already exited) can no longer be told apart by its environment, and would stay
 * a zombie for the JVM's lifetime. The JDK reaps the processes it started itself the moment they
 * exit (a thread waits on each), so a child that has been a zombie for {@value #AGE_SECONDS}
 * seconds is not the JDK's, and reaping it takes no exit status from anyone who waits for it.
 *
 * <p>Runs while commands are being stopped (it is handed the JVM's children then anyway), so a
 * zombie is reaped at some stop {@value #AGE_SECONDS} s or more after it was first seen.
 * Thread-safe: one sweep at a time, so two stops do not forget each other's zombies.
 */
public final class ZombieSweeper {
  public static final long AGE_SECONDS = 10;
  private static final long AGE_NANOS = TimeUnit.SECONDS.toNanos(AGE_SECONDS);

  private final LinuxNative natives;
  /** pid → {start ticks, first seen as a zombie (nanoTime)}. */
  private final Map<Long, long[]> zombies = new ConcurrentHashMap<>();

  public ZombieSweeper(LinuxNative natives) {
    this.natives = natives;
  }

  /** Looks at this JVM's {@code children}: notes new zombies, reaps old ones. */
  synchronized void sweep(ProcessInspector inspector, Collection<Long> children) {
    long now = System.nanoTime();
    long self = ProcessHandle.current().pid();
    Set<Long> seen = new HashSet<>();
    for (long pid : children) {
      ProcessInspector.Stat s = inspector.stat(pid);
      if (s == null || !s.zombie() || s.ppid() != self) {
        continue;
      }
      seen.add(pid);
      long[] first = zombies.get(pid);
      if (first == null || first[0] != s.startTicks()) {
        zombies.put(pid, new long[] {s.startTicks(), now});
      } else if (now - first[1] >= AGE_NANOS) {
        natives.reap(pid);
        zombies.remove(pid);
      }
    }
    zombies.keySet().retainAll(seen);
  }
}
