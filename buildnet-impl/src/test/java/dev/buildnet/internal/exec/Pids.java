package dev.buildnet.internal.exec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Liveness as the tests mean it. */
public final class Pids {
  private Pids() {}

  /**
   * True if {@code pid} exists and is not a zombie. The JDK counts a zombie as alive; a zombie has
   * ended and only waits for its (new) parent to reap it, which is not the provider's doing.
   */
  public static boolean isRunning(long pid) {
    boolean present = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    if (!present) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      char state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state != 'Z' && state != 'X';
    } catch (IOException e) {
      return false; // gone between the two looks
    }
  }
}
