package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The daemon's idle heap, in real JVMs with the launcher's daemon flags: going idle tightens the
 * heap's free ratios and hands back memory that a collection under the build's ratios keeps;
 * going busy restores the ratios the JVM started with; ratios already tighter are left alone.
 */
class IdleHeapTest {
  private static final List<String> DAEMON_HEAP = List.of("-XX:+UseSerialGC", "-Xms16m",
      "-Xmx512m", "-XX:MinHeapFreeRatio=20", "-XX:MaxHeapFreeRatio=40", "-XX:-ShrinkHeapInSteps");

  @Test
  void idle_shrinksTheHeapBelowWhatTheBuildRatiosKeep_andBusyRestoresThem() throws Exception {
    long[] r = run(DAEMON_HEAP);
    assertTrue(r[1] < r[0], "committed heap idle " + r[1] + " < after a plain collection " + r[0]);
    assertEquals(IdleHeap.IDLE_MIN, r[2]);
    assertEquals(IdleHeap.IDLE_MAX, r[3]);
    assertEquals(20, r[4]);
    assertEquals(40, r[5]);
  }

  @Test
  void ratiosAlreadyTighter_areLeftAsStarted() throws Exception {
    long[] r = run(List.of("-XX:+UseSerialGC", "-Xmx512m", "-XX:MinHeapFreeRatio=2",
        "-XX:MaxHeapFreeRatio=5"));
    assertEquals(List.of(2L, 5L, 2L, 5L), List.of(r[2], r[3], r[4], r[5]));
  }

  @Test
  void ratiosOnlyPartlyTighter_onlyTheLooserOneIsTightened() throws Exception {
    long[] r = run(List.of("-XX:+UseSerialGC", "-Xmx512m", "-XX:MinHeapFreeRatio=2",
        "-XX:MaxHeapFreeRatio=70"));
    assertEquals(List.of(2L, (long) IdleHeap.IDLE_MAX, 2L, 70L), List.of(r[2], r[3], r[4], r[5]));
  }

  private static long[] run(List<String> flags) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(flags);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), IdleHeapMain.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not exit");
    assertEquals(0, p.exitValue(), out);
    String[] f = out.substring(out.lastIndexOf('\n') + 1).split(" ");
    assertEquals(6, f.length, out);
    long[] r = new long[6];
    for (int i = 0; i < 6; i++) {
      r[i] = Long.parseLong(f[i]);
    }
    return r;
  }
}
