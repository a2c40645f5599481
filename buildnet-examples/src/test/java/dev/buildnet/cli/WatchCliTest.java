package dev.buildnet.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code buildnet build --watch} in a JVM of its own: one summary per cycle (what changed, what
 * ran, what failed with its first error lines), and Ctrl-C ends it with nothing left running.
 */
class WatchCliTest {
  // "ok": succeeds; "fail": fails with an error on stderr; "hang": leaves a background child
  // and waits, so that Ctrl-C finds a running build.
  private static final String WORKSPACE = "{\"version\": 1, \"targets\": {\"t\": {\"command\":"
      + " [\"sh\", \"-c\", \"case $(cat src/a.txt) in"
      + " ok) echo fine > out.txt;;"
      + " fail) echo 'boom: src/a.txt says fail' >&2; exit 3;;"
      + " hang) sleep 1000 & echo $! > bg.pid; echo $$ > root.pid.tmp; mv root.pid.tmp root.pid; wait;;"
      + " esac\"], \"inputs\": [\"src/*.txt\"], \"outputs\": [\"out.txt\"]}}}";

  @TempDir Path ws;
  private Process jvm;
  private Path log;

  @AfterEach
  void stop() throws IOException {
    if (jvm != null) {
      jvm.destroyForcibly();
    }
    for (String f : List.of("bg.pid", "root.pid")) {
      if (Files.exists(ws.resolve(f))) {
        ProcessHandle.of(pid(f)).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  private void save(String text) throws IOException {
    Path tmp = ws.resolve(".buildnet/edit.tmp");
    Files.createDirectories(tmp.getParent());
    Files.writeString(tmp, text);
    Files.move(tmp, ws.resolve("src/a.txt"), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  private String output() throws IOException {
    return Files.exists(log) ? Files.readString(log, UTF_8) : "";
  }

  private void awaitOutput(Predicate<String> condition, String what) throws Exception {
    long deadline = System.nanoTime() + SECONDS.toNanos(60);
    while (!condition.test(output())) {
      assertTrue(jvm.isAlive(), "the watch ended early: " + output());
      assertTrue(System.nanoTime() - deadline < 0, "never saw " + what + ": " + output());
      Thread.sleep(20); // polling a condition with a bound
    }
  }

  private long pid(String file) throws IOException {
    return Long.parseLong(Files.readString(ws.resolve(file)).strip());
  }

  @Test
  void eachCycleIsSummarised_andCtrlCStopsTheWatchWithNothingLeftRunning() throws Exception {
    assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "needs /proc");
    Files.writeString(ws.resolve("buildnet.json"), WORKSPACE);
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "ok");
    log = ws.resolve("cli.log");
    jvm = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx96m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        BuildNetCli.class.getName(), "build", "--watch", "-w", ws.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();

    awaitOutput(o -> o.contains("[1] ran t (1 built, 0 cached)"), "the first cycle");

    save("fail");
    awaitOutput(o -> o.contains("[2] changed src/a.txt: rebuilding t"), "the second cycle");
    awaitOutput(o -> o.contains("[2] ran t") && o.contains("FAILED"), "the failure");
    awaitOutput(o -> o.contains("boom: src/a.txt says fail"), "the first error line");

    save("hang");
    long deadline = System.nanoTime() + SECONDS.toNanos(60);
    while (!Files.exists(ws.resolve("root.pid"))) {
      assertTrue(jvm.isAlive() && System.nanoTime() - deadline < 0, output());
      Thread.sleep(20);
    }
    long bg = pid("bg.pid");
    long root = pid("root.pid");

    new ProcessBuilder("kill", "-INT", Long.toString(jvm.pid())).start().waitFor(); // Ctrl-C

    assertTrue(jvm.waitFor(60, SECONDS), "the JVM did not exit: " + output());
    assertEquals(130, jvm.exitValue(), output());
    assertTrue(output().contains("watch stopped"), output());
    awaitGone(bg);
    awaitGone(root);
  }

  private static void awaitGone(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !zombie(pid)) {
      assertTrue(System.nanoTime() - deadline < 0, "pid " + pid + " is still running");
      Thread.sleep(20);
    }
  }

  private static boolean zombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      char state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state == 'Z' || state == 'X';
    } catch (IOException e) {
      return true;
    }
  }
}
