package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.graph.Target;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target's output is bounded in memory however much it prints, and a failure handling the
 * output fails the target rather than hanging the build.
 */
class BigOutputTest {
  private static final long OUTPUT = 200_000_000L;
  private static final long HEAP = 64L << 20;

  @TempDir Path dir;

  @Test
  void twoHundredMegabytesWithoutANewline_buildInA64MiBHeap_keepingHeadAndTail() throws Exception {
    Path ws = Files.createDirectories(dir.resolve("ws"));
    Path log = dir.resolve("child.log");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process child = new ProcessBuilder(java.toString(), "-Xmx" + HEAP, "-XX:+UseSerialGC",
            "-cp", System.getProperty("java.class.path"), BigOutputMain.class.getName(),
            ws.toString(), Long.toString(OUTPUT))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      // A failure bound only: before the fix the child ran out of heap and hung for ever.
      assertTrue(child.waitFor(5, TimeUnit.MINUTES),
          "the child JVM hung: " + tail(log));
    } finally {
      child.destroyForcibly();
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(0, child.exitValue(), output);
    Map<String, String> got = new HashMap<>();
    output.lines().filter(l -> l.contains("=")).forEach(l -> {
      int eq = l.indexOf('=');
      got.put(l.substring(0, eq), l.substring(eq + 1));
    });

    long perTarget = LogLimits.DEFAULT.perTargetBytes();
    assertEquals("BUILT", got.get("status"), output);
    assertEquals(Long.toString(OUTPUT), got.get("streamed"), "every byte reached the listeners");
    // The history keeps its head and tail, within the per-target limit, around the marker.
    assertTrue(Long.parseLong(got.get("historyBytes")) <= perTarget, output);
    assertTrue(Long.parseLong(got.get("keptChars")) <= perTarget, output);
    assertTrue(got.get("historyMarker").matches("\\[buildnet: \\d+ bytes omitted]"), output);
    // The stored stdout (replayed from the cache) is the head and tail of the output: perTarget
    // bytes of it, and the marker, which counts exactly what was left out.
    assertEquals("CACHED", got.get("second"), output);
    assertEquals("[buildnet: " + (OUTPUT - perTarget) + " bytes omitted]",
        got.get("replayedMarker"), output);
    long marker = got.get("replayedMarker").length();
    assertEquals(perTarget + marker + 3, Long.parseLong(got.get("replayed")),
        "head, marker and tail, each replayed as a line: " + output);
    assertTrue(Long.parseLong(got.get("peakHeap")) <= HEAP, output);
  }

  @Test
  void aFailureHandlingTheOutput_failsTheTarget_andTheBuildEnds() throws Exception {
    // An Error from a listener reaches the output pump (listeners' RuntimeExceptions are
    // isolated); it stands for any failure there, e.g. running out of heap.
    BuildListener exhausted = new BuildListener() {
      @Override
      public void logLine(String buildId, String target, OutputListener.Stream stream, String line,
          boolean fromCache) {
        throw new OutOfMemoryError("induced by the test");
      }
    };
    // `yes` never ends by itself, and stops only if the failure stops it.
    List<Target> targets = List.of(
        Target.builder("endless").command("yes").cacheable(false).build(),
        Target.builder("after").command("true").dependsOn("endless").cacheable(false).build());
    try (BuildNet net = BuildNet.builder().workspace(dir).targets(targets).listener(exhausted)
        .start()) {
      BuildResult r = net.build("after").get(60, TimeUnit.SECONDS);

      assertTrue(!r.success());
      TargetOutcome endless = r.target("endless").orElseThrow();
      assertEquals(TargetOutcome.Status.FAILED, endless.status(), endless.toString());
      assertTrue(endless.reason().contains("induced by the test"), endless.reason());
      assertTrue(endless.reason().contains("handling the output"), endless.reason());
      assertEquals(TargetOutcome.Status.SKIPPED, r.target("after").orElseThrow().status());
    }
  }

  @Test
  void logLimits_boundWhatATargetKeeps_inTheHistoryAndInTheCache() throws Exception {
    LogLimits limits = new LogLimits(4096, 8192, 16384);
    List<Target> targets = List.of(Target.builder("chatty")
        .command("sh", "-c", "i=0; while [ $i -lt 1000 ]; do echo line$i; i=$((i+1)); done")
        .build());
    StringBuilder replayed = new StringBuilder();
    BuildListener cached = new BuildListener() {
      @Override
      public void logLine(String buildId, String target, OutputListener.Stream stream, String line,
          boolean fromCache) {
        if (fromCache) {
          replayed.append(line).append('\n');
        }
      }
    };
    try (BuildNet net = BuildNet.builder().workspace(dir).targets(targets).logLimits(limits)
        .listener(cached).start()) {
      BuildResult first = net.build("chatty").get(60, TimeUnit.SECONDS);
      assertTrue(first.success(), first.toString());
      assertTrue(net.history().logBytes() <= 4096, "kept " + net.history().logBytes());
      List<String> kept = net.history().log(first.buildId(), "chatty").stream()
          .map(l -> l.line()).toList();
      assertEquals("line0", kept.get(0));
      assertEquals("line999", kept.get(kept.size() - 1));
      assertTrue(kept.stream().anyMatch(l -> l.matches("\\[buildnet: \\d+ bytes omitted]")),
          kept.toString());

      assertEquals(TargetOutcome.Status.CACHED,
          net.build("chatty").get(60, TimeUnit.SECONDS).targets().get(0).status());
      String stored = replayed.toString();
      // 1000 lines "line0".."line999" are 7890 bytes; 4096 of them are kept.
      assertTrue(stored.startsWith("line0\nline1\n"), stored);
      assertTrue(stored.contains("[buildnet: " + (7890 - 4096) + " bytes omitted]"), stored);
      assertTrue(stored.endsWith("line998\nline999\n"), stored);
    }
  }

  @Test
  void logLimits_mayBeSetOnce() {
    BuildNet.Builder b = BuildNet.builder().logLimits(LogLimits.DEFAULT);
    IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalStateException.class, () -> b.logLimits(LogLimits.DEFAULT));
    assertTrue(e.getMessage().contains("logLimits was already set"), e.getMessage());
  }

  private static String tail(Path log) throws java.io.IOException {
    String s = Files.readString(log, StandardCharsets.UTF_8);
    return s.substring(Math.max(0, s.length() - 2000));
  }
}
