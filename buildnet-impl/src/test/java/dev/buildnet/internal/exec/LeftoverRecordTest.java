package dev.buildnet.internal.exec;

import dev.buildnet.exec.ProcessShellProvider;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The record that lets the next provider kill what a JVM killed with SIGKILL left running. The
 * records here are written the way a dead JVM would have left them; that a real JVM writes them
 * and a real {@code kill -9} leaves them is the CLI's {@code ShutdownTest}.
 */
class LeftoverRecordTest {
  private final LinuxProcfs procfs = new LinuxProcfs();
  private final List<Process> started = new ArrayList<>();

  @TempDir Path dir;

  @BeforeAll
  static void linuxOnly() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
  }

  @AfterEach
  void stopWhatTheTestStarted() {
    started.forEach(Process::destroyForcibly);
  }

  private Process sleeper(Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("sleep", "1000");
    pb.environment().putAll(env);
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private long ticks(long pid) {
    return procfs.stat(pid).startTicks();
  }

  /** A record as a JVM that has died leaves it: its owner is this pid with another start time. */
  private Path deadOwnersRecord(String... body) throws IOException {
    long self = ProcessHandle.current().pid();
    StringBuilder text = new StringBuilder("buildnet-processes 1\n");
    text.append("owner ").append(self).append(' ').append(ticks(self) + 1).append('\n');
    for (String line : body) {
      text.append(line).append('\n');
    }
    Files.createDirectories(dir);
    Path file = dir.resolve("4242-dead.procs");
    Files.writeString(file, text);
    return file;
  }

  private static void awaitExit(Process p) throws InterruptedException {
    assertTrue(p.waitFor(30, SECONDS), "pid " + p.pid() + " is still running");
  }

  @Test
  void aRecordedProcess_isKilled_butARecycledPidWithAnotherStartTime_isNot() throws Exception {
    Process leftover = sleeper(Map.of());
    Process recycled = sleeper(Map.of());
    Path record =
        deadOwnersRecord(
            "mark " + ProcessShellProvider.MARK_VARIABLE + "=00000000000000000000000000000000",
            "proc " + leftover.pid() + " " + ticks(leftover.pid()),
            "proc " + recycled.pid() + " " + (ticks(recycled.pid()) - 1));

    ProcessShellProvider.builder().recordIn(dir).build();

    awaitExit(leftover);
    assertTrue(recycled.isAlive(), "a process whose start time differs from the record was killed");
    assertFalse(Files.exists(record), "the record of a dead JVM is removed once acted on");
  }

  @Test
  void aProcessCarryingARecordedMark_isKilled_evenIfItsPidWasNeverRecorded() throws Exception {
    String mark = "0123456789abcdef0123456789abcdef";
    Process marked = sleeper(Map.of(ProcessShellProvider.MARK_VARIABLE, mark));
    Process otherMark = sleeper(Map.of(ProcessShellProvider.MARK_VARIABLE, mark + "0"));
    deadOwnersRecord("mark " + ProcessShellProvider.MARK_VARIABLE + "=" + mark);

    ProcessShellProvider.builder().recordIn(dir).build();

    awaitExit(marked);
    assertTrue(otherMark.isAlive(), "only an exact mark counts");
  }

  @Test
  void theRecordOfALiveJvm_isLeftAlone() throws Exception {
    Process p = sleeper(Map.of());
    long self = ProcessHandle.current().pid();
    Path record = dir.resolve("live.procs");
    Files.writeString(
        record,
        "buildnet-processes 1\nowner " + self + " " + ticks(self) + "\nproc " + p.pid() + " "
            + ticks(p.pid()) + "\n");

    ProcessShellProvider.builder().recordIn(dir).build();

    assertTrue(p.isAlive(), "a process of a live BuildNet was killed");
    assertTrue(Files.exists(record));
  }

  @Test
  void aRunningCommand_isRecordedWithItsMark_andTheRecordGoesWhenItEnds() throws Exception {
    ProcessShellProvider provider = ProcessShellProvider.builder().recordIn(dir).build();
    Path ready = dir.resolve("ready");
    RunningCommand c =
        provider.start(
            CommandSpec.of(
                ScriptCommands.sh("sleep 1000 & touch \"$1\"; wait", List.of(ready.toString())),
                dir,
                Map.of()),
            OutputListener.discard());
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    List<String> lines = List.of();
    // Polled: the record is rewritten as members are seen.
    while (System.nanoTime() - deadline < 0) {
      lines = recordLines();
      if (lines.contains("proc " + c.pid() + " " + ticks(c.pid()))
          && lines.stream().anyMatch(l -> l.startsWith("mark " + ProcessShellProvider.MARK_VARIABLE + "="))) {
        break;
      }
      Thread.sleep(20);
    }
    assertTrue(lines.contains("proc " + c.pid() + " " + ticks(c.pid())), lines.toString());
    long self = ProcessHandle.current().pid();
    assertTrue(lines.contains("owner " + self + " " + ticks(self)), lines.toString());

    c.cancel();
    c.result().get(30, SECONDS);

    assertEquals(List.of(), recordLines(), "nothing runs, so nothing is recorded");
  }

  private List<String> recordLines() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<String> lines = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".procs"))::iterator) {
        try {
          lines.addAll(Files.readAllLines(f));
        } catch (IOException e) {
          // replaced between the listing and the read: the next poll sees the new one
        }
      }
    }
    return lines;
  }
}
