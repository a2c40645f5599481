package dev.buildnet.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.BuildNet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code buildnet build} in a JVM of its own, stopped the ways CI runners, {@code docker stop},
 * IDEs and terminals stop it: its targets' processes do not outlive it.
 */
class ShutdownTest {
  // Root and a background child that holds on; both pids are written once both run.
  private static final String WORKSPACE =
      "{\"version\": 1, \"targets\": {\"long\": {\"command\": [\"sh\", \"-c\","
          + " \"sleep 1000 & echo $! > bg.pid; echo $$ > root.pid.tmp; mv root.pid.tmp root.pid;"
          + " wait\"], \"cacheable\": false}}}";

  @TempDir Path ws;
  private final List<Process> jvms = new ArrayList<>();
  private Path log;

  @BeforeAll
  static void linuxOnly() {
    assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "needs /proc");
  }

  @BeforeEach
  void workspace() throws IOException {
    Files.writeString(ws.resolve("buildnet.json"), WORKSPACE);
    log = ws.resolve("cli.log");
  }

  @AfterEach
  void stopJvms() throws IOException {
    jvms.forEach(Process::destroyForcibly);
    for (String f : List.of("bg.pid", "root.pid")) {
      if (Files.exists(ws.resolve(f))) {
        ProcessHandle.of(pid(f)).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  /** Starts {@code buildnet build} on the workspace and waits until its target's processes run. */
  private Process buildInAnotherJvm() throws Exception {
    List<String> cmd = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        BuildNetCli.class.getName(), "build", "-w", ws.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    jvms.add(p);
    long deadline = System.nanoTime() + SECONDS.toNanos(60);
    while (!Files.exists(ws.resolve("root.pid"))) {
      assertTrue(p.isAlive(), "the build ended early: " + output());
      assertTrue(System.nanoTime() - deadline < 0, "the target never started: " + output());
      Thread.sleep(50);
    }
    assertTrue(isRunning(pid("bg.pid")));
    return p;
  }

  private long pid(String file) throws IOException {
    return Long.parseLong(Files.readString(ws.resolve(file)).strip());
  }

  private String output() throws IOException {
    return Files.exists(log) ? Files.readString(log, UTF_8) : "";
  }

  @Test
  void sigterm_cancelsTheBuild_killsItsTargets_andExits143() throws Exception {
    Process jvm = buildInAnotherJvm();

    jvm.destroy(); // SIGTERM, to the JVM alone

    assertTrue(jvm.waitFor(60, SECONDS), "the JVM did not exit");
    assertEquals(143, jvm.exitValue(), output());
    assertCancelledSummary();
    awaitGone(pid("bg.pid"));
    awaitGone(pid("root.pid"));
  }

  @Test
  void sigint_cancelsTheBuild_killsItsTargets_andExits130() throws Exception {
    Process jvm = buildInAnotherJvm();

    new ProcessBuilder("kill", "-INT", Long.toString(jvm.pid())).start().waitFor();

    assertTrue(jvm.waitFor(60, SECONDS), "the JVM did not exit");
    assertEquals(130, jvm.exitValue(), output());
    assertCancelledSummary();
    awaitGone(pid("bg.pid"));
    awaitGone(pid("root.pid"));
  }

  @Test
  void afterKill9_theNextStartOnTheWorkspace_killsWhatWasLeft() throws Exception {
    afterKill9();
  }

  @Test
  void afterKill9_theNextStartKillsWhatWasLeft_alsoWhenThisJvmAdoptedIt() throws Exception {
    // Once this JVM has run a command with the subreaper on, the dead JVM's orphans come here.
    dev.buildnet.exec.ProcessShellProvider.builder().subreaper(true).build().run(
        dev.buildnet.api.exec.CommandSpec.of(List.of("true"), ws, java.util.Map.of()));
    afterKill9();
  }

  private void afterKill9() throws Exception {
    Process jvm = buildInAnotherJvm();
    // The command writes its pid files as soon as it starts, possibly before its JVM recorded
    // it: wait for the record, or the kill below could come before there is anything to find.
    awaitRecorded(pid("root.pid"));

    jvm.destroyForcibly(); // SIGKILL: no hook runs
    assertTrue(jvm.waitFor(60, SECONDS));
    long bg = pid("bg.pid");
    long root = pid("root.pid");
    assertTrue(isRunning(bg) && isRunning(root), "nothing was left behind to clean up");

    BuildNet.builder().workspace(ws).start().close();

    awaitGone(bg);
    awaitGone(root);
  }

  /** The summary table with the target cancelled, and the line that says why. */
  private void assertCancelledSummary() throws IOException {
    String out = output();
    // A row of the summary table: status, then the target's name.
    assertTrue(out.lines().anyMatch(l -> l.matches("\\s*cancelled\\s+long\\s.*")), out);
    assertTrue(out.contains("\ncancelled: BuildNet was asked to stop"), out);
    // The summary line counts it as cancelled, not as skipped.
    assertTrue(out.lines().anyMatch(
        l -> l.matches("built 0, cached 0, failed 0, skipped 0, cancelled 1 in .*")), out);
    // The line above says why; a logger's line beside it would say it again, less clearly.
    assertTrue(out.lines().noneMatch(l -> l.contains(" INFO dev.buildnet.")), out);
  }

  private void awaitRecorded(long pid) throws Exception {
    Path dir = ws.resolve(".buildnet/processes");
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (true) {
      if (Files.isDirectory(dir)) {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
          for (Path f : files.filter(f -> f.toString().endsWith(".procs")).toList()) {
            try {
              if (Files.readAllLines(f).contains("proc " + pid + " " + startTicks(pid))) {
                return;
              }
            } catch (IOException e) {
              // replaced between the listing and the read: look again
            }
          }
        }
      }
      assertTrue(System.nanoTime() - deadline < 0, "pid " + pid + " was never recorded in " + dir);
      Thread.sleep(20);
    }
  }

  /** Field 22 of /proc/PID/stat, counted after the command name's closing parenthesis. */
  private static String startTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
  }

  private static void awaitGone(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (isRunning(pid)) {
      assertTrue(System.nanoTime() - deadline < 0, "pid " + pid + " is still running: " + stat(pid));
      Thread.sleep(20);
    }
  }

  private static String stat(long pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/stat"));
    } catch (IOException e) {
      return "(gone)";
    }
  }

  /** Exists and is not a zombie (a zombie has ended; only its parent's reaping is pending). */
  private static boolean isRunning(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      char state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state != 'Z' && state != 'X';
    } catch (IOException e) {
      return false;
    }
  }
}
