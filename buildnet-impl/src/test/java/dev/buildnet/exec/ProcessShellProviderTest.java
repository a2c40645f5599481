package dev.buildnet.exec;

import dev.buildnet.internal.exec.LinuxProcfs;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.internal.exec.ScriptCommands;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandResult.Outcome;
import dev.buildnet.api.NotStartedException;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.OutputListener.Stream;
import dev.buildnet.api.exec.RunningCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

@ParameterizedClass
@EnumSource(Launch.class)
class ProcessShellProviderTest {
  private final Launch launch;

  private static final Map<String, String> NO_ENV = Map.of();
  private static final Duration SHORT_TIMEOUT = Duration.ofMillis(500);
  private static final Duration SHORT_GRACE = Duration.ofMillis(200);

  private final ProcessShellProvider shell;

  @TempDir Path dir;

  ProcessShellProviderTest(Launch launch) {
    this.launch = launch;
    this.shell = launch.builder().build();
  }

  private CommandSpec spec(List<String> argv) {
    return CommandSpec.of(argv, dir, NO_ENV);
  }

  private static String out(CommandResult r) {
    return new String(r.stdout(), UTF_8);
  }

  @Test
  void argv_reachesTheProgramVerbatim() {
    List<String> args =
        List.of("two words", "\"quoted\"", "'single'", "$HOME", "a;b", "*", "", "back\\slash", "ünï");
    List<String> argv = new ArrayList<>(List.of("printf", "%s\\n"));
    argv.addAll(args);

    CommandResult r = shell.run(spec(argv));

    assertEquals(0, r.exitCode(), () -> new String(r.stderr(), UTF_8));
    assertEquals(String.join("\n", args) + "\n", out(r));
  }

  @Test
  void environment_isExactlyWhatTheSpecLists_plusTheCommandsMarkOnLinux() {
    Map<String, String> env = Map.of("ALPHA", "1", "BETA", "two words", "EMPTY", "");

    CommandResult r = shell.run(CommandSpec.of(List.of("env"), dir, env));

    List<String> lines = out(r).lines().sorted().collect(Collectors.toList());
    String markPrefix = ProcessShellProvider.MARK_VARIABLE + "=";
    List<String> marks =
        lines.stream().filter(l -> l.startsWith(markPrefix)).collect(Collectors.toList());
    lines.removeAll(marks);
    assertEquals(List.of("ALPHA=1", "BETA=two words", "EMPTY="), lines);
    if (LinuxProcfs.isUsable()) {
      // The one addition: the random per-command value that finds the command's detached processes.
      assertEquals(1, marks.size(), marks.toString());
      assertTrue(marks.get(0).matches(markPrefix + "[0-9a-f]{32}"), marks.get(0));
    } else {
      assertEquals(List.of(), marks);
    }
  }

  @Test
  void workingDirectory_isWhereTheCommandRuns() throws IOException {
    CommandResult r = shell.run(spec(List.of("pwd", "-P")));

    assertEquals(dir.toRealPath().toString(), out(r).strip());
  }

  @Test
  void output_isStreamedLineByLineWhileTheCommandRuns() throws Exception {
    Path go = dir.resolve("go");
    List<String> seen = new CopyOnWriteArrayList<>();
    OutputListener listener =
        (stream, line) -> {
          seen.add(stream + ":" + line);
          if (line.equals("waiting")) {
            try {
              Files.createFile(go);
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
          }
        };
    // The command cannot finish until the test has seen "waiting": proof that lines arrive live.
    String script =
        "echo one; echo e1 >&2; echo waiting; while [ ! -e \"$1\" ]; do sleep 0.01; done;"
            + " echo two; echo e2 >&2; printf 'no newline'";

    CommandResult r =
        shell.start(spec(ScriptCommands.bash(script, List.of(go.toString()))), listener)
            .result()
            .get(10, SECONDS);

    List<String> stdoutLines = filter(seen, Stream.STDOUT);
    List<String> stderrLines = filter(seen, Stream.STDERR);
    assertEquals(List.of("one", "waiting", "two", "no newline"), stdoutLines);
    assertEquals(List.of("e1", "e2"), stderrLines);
    assertEquals("one\nwaiting\ntwo\nno newline", out(r));
    assertEquals("e1\ne2\n", new String(r.stderr(), UTF_8));
    assertFalse(r.outputTruncated());
  }

  private static List<String> filter(List<String> seen, Stream stream) {
    return seen.stream()
        .filter(s -> s.startsWith(stream + ":"))
        .map(s -> s.substring(stream.toString().length() + 1))
        .collect(Collectors.toList());
  }

  @Test
  void listener_runsOnTheCommandsNamedThread() throws Exception {
    List<String> names = new CopyOnWriteArrayList<>();
    RunningCommand c =
        shell.start(
            spec(ScriptCommands.bash("echo out; echo err >&2", List.of())),
            (stream, line) -> names.add(stream + " " + Thread.currentThread().getName()));
    c.result().get(10, SECONDS);

    Collections.sort(names);
    String thread = "buildnet-exec-" + c.pid();
    if (LinuxProcfs.isUsable()) {
      // One thread polls both pipes and the root's exit.
      assertEquals(List.of("STDERR " + thread, "STDOUT " + thread), names);
    } else {
      assertEquals(List.of("STDERR " + thread + "-err", "STDOUT " + thread + "-out"), names);
    }
  }

  @Test
  void listener_onTheJdksPipes_runsOnANamedReaderThreadPerStream() throws Exception {
    ProcessShellProvider degraded = launch.builder().withoutNativeCalls().build();
    List<String> names = new CopyOnWriteArrayList<>();
    RunningCommand c =
        degraded.start(
            spec(ScriptCommands.bash("echo out; echo err >&2", List.of())),
            (stream, line) -> names.add(stream + " " + Thread.currentThread().getName()));
    c.result().get(10, SECONDS);

    Collections.sort(names);
    String thread = "buildnet-exec-" + c.pid();
    assertEquals(List.of("STDERR " + thread + "-err", "STDOUT " + thread + "-out"), names);
  }

  @Test
  void outputCap_keepsTheHeadAndTheTailAroundAMarkerAndFlagsTruncation() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    CommandSpec capped =
        spec(ScriptCommands.bash("for i in $(seq 1 100); do echo line$i; done", List.of()))
            .withOutputCap(10);

    CommandResult r = shell.start(capped, (s, l) -> lines.add(l)).result().get(10, SECONDS);

    // 692 bytes in all ("line1\n" .. "line100\n"): the first 5 and the last 5 are kept.
    assertEquals("line1\n[buildnet: 682 bytes omitted]\ne100\n", out(r));
    assertTrue(r.outputTruncated());
    assertEquals(100, lines.size(), "every line still reaches the listener");
  }

  @Test
  void output_beyondTheCap_isDrainedToTheEnd_andCountedInTheMarker() throws Exception {
    // 20 MB without a newline through a 64 KiB cap: the child must never block on the pipe.
    CommandSpec capped =
        spec(ScriptCommands.bash("head -c 20000000 /dev/zero | tr '\\0' x; echo; echo end",
            List.of())).withOutputCap(64 * 1024);
    long[] streamed = {0};

    CommandResult r = shell.start(capped, (s, l) -> streamed[0] += l.length())
        .result().get(60, SECONDS);

    assertEquals(0, r.exitCode());
    assertTrue(r.outputTruncated());
    assertEquals(20_000_000 + 3, streamed[0], "every byte but the newlines reached the listener");
    String kept = out(r);
    long omitted = 20_000_000 + 1 + 4 - 64 * 1024;
    assertTrue(kept.startsWith("x".repeat(32 * 1024) + "\n[buildnet: " + omitted
        + " bytes omitted]\n"), kept.substring(0, 100));
    assertTrue(kept.endsWith("x".repeat(32 * 1024 - 5) + "\nend\n"));
  }

  @Test
  void aListenerThatThrowsAnError_failsTheCommandAndStopsIt_insteadOfHanging() throws Exception {
    // `yes` never ends by itself: only stopping it on the failure ends this command.
    RunningCommand c =
        shell.start(spec(List.of("yes")), (s, l) -> {
          throw new OutOfMemoryError("induced by the test");
        });

    java.util.concurrent.ExecutionException e = assertThrows(
        java.util.concurrent.ExecutionException.class, () -> c.result().get(60, SECONDS));
    assertTrue(e.getCause() instanceof dev.buildnet.api.BuildNetException, e.toString());
    assertTrue(e.getCause().getMessage().contains("induced by the test"), e.getMessage());
    assertTrue(e.getCause().getMessage().contains("handling the output of command yes"),
        e.getMessage());
    assertFalse(ProcessHandle.of(c.pid()).map(ProcessHandle::isAlive).orElse(false));
  }

  @Test
  void exitCode_isReported() {
    CommandResult r = shell.run(spec(ScriptCommands.bash("exit 3", List.of())));

    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(3, r.exitCode());
    assertFalse(r.succeeded());
  }

  @Test
  void exitCode_ofASignalledProcess_is128PlusTheSignal() {
    CommandResult r = shell.run(spec(ScriptCommands.bash("kill -KILL $$", List.of())));

    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(128 + 9, r.exitCode());
  }

  @Test
  void start_programNotFound_namesItAndThePathSearched() {
    NotStartedException e =
        assertThrows(
            NotStartedException.class,
            () -> shell.start(spec(List.of("no-such-program-buildnet")), OutputListener.discard()));
    assertEquals(NotStartedException.Reason.COMMAND, e.reason());

    assertTrue(e.getMessage().contains("'no-such-program-buildnet'"), e.getMessage());
    assertTrue(e.getMessage().contains("not found on this JVM's PATH"), e.getMessage());
  }

  @Test
  void start_fileNotExecutable_saysSo() throws IOException {
    Path script = Files.writeString(dir.resolve("script.sh"), "#!/bin/sh\necho hi\n");

    NotStartedException e =
        assertThrows(
            NotStartedException.class,
            () -> shell.start(spec(List.of(script.toString())), OutputListener.discard()));
    assertEquals(NotStartedException.Reason.COMMAND, e.reason());

    assertTrue(e.getMessage().contains("is not executable"), e.getMessage());
  }

  @Test
  void start_missingWorkingDirectory_saysWhichDirectory() {
    Path missing = dir.resolve("missing");

    NotStartedException e =
        assertThrows(
            NotStartedException.class,
            () ->
                shell.start(
                    CommandSpec.of(List.of("true"), missing, NO_ENV), OutputListener.discard()));
    assertEquals(NotStartedException.Reason.COMMAND, e.reason());

    assertTrue(
        e.getMessage().contains("working directory " + missing + " does not exist"),
        e.getMessage());
  }

  /**
   * Starts a root (bash) with a child, a grandchild under a nested shell, and a double-forked
   * process whose parent exits at once (so it is never a descendant by the time anyone looks),
   * then prints "ready". Returns the pid file.
   */
  private Path treeScript(List<String> argvOut) {
    Path pids = dir.resolve("pids");
    String script =
        "echo $$ >> \"$1\"\n"
            + "sleep 300 & echo $! >> \"$1\"\n"
            + "bash -c 'sleep 300 & echo $! >> \"$1\"; echo $$ >> \"$1\"; wait' inner \"$1\" &\n"
            + "echo $! >> \"$1\"\n"
            + "(sleep 300 & echo $! >> \"$1\")\n"
            + "while [ $(wc -l < \"$1\") -lt 6 ]; do sleep 0.01; done\n"
            + "echo ready\n"
            + "wait\n";
    argvOut.addAll(ScriptCommands.bash(script, List.of(pids.toString())));
    return pids;
  }

  private static List<Long> readPids(Path file) throws IOException {
    List<Long> pids =
        Files.readAllLines(file).stream().map(String::trim).map(Long::parseLong).distinct()
            .collect(Collectors.toList());
    assertEquals(6, Files.readAllLines(file).size(), "the script records six pids");
    return pids;
  }

  @Test
  void timeout_killsTheWholeTree_grandchildrenAndDoubleForkedIncluded() throws Exception {
    List<String> argv = new ArrayList<>();
    Path pidFile = treeScript(argv);

    CommandResult r =
        timedOutAfterReady(
            spec(argv).withGracePeriod(SHORT_GRACE), () -> Files.deleteIfExists(pidFile));

    assertEquals(Outcome.TIMED_OUT, r.outcome());
    assertEquals(128 + 15, r.exitCode());
    for (long pid : readPids(pidFile)) {
      assertFalse(Pids.isRunning(pid), "pid " + pid + " is still running");
    }
  }

  /** Something to do before each attempt of {@link #timedOutAfterReady}. */
  private interface Reset {
    void run() throws IOException;
  }

  /**
   * Runs {@code spec} with a timeout, for a test that needs the command set up (it prints "ready"
   * then) before the timeout fires. A timeout runs on the wall clock from the fork and cannot wait
   * for the setup, which on a loaded machine can outlast a short one; so a run whose timeout came
   * first proves nothing and is made again with twice the timeout, a few times at most. The
   * result returned is of a run that printed "ready" before its timeout.
   */
  private CommandResult timedOutAfterReady(CommandSpec spec, Reset reset) throws Exception {
    Duration timeout = SHORT_TIMEOUT;
    for (int attempt = 0; attempt < 6; attempt++, timeout = timeout.multipliedBy(2)) {
      reset.run();
      CompletableFuture<Void> ready = new CompletableFuture<>();
      CommandResult r =
          shell
              .start(
                  spec.withTimeout(timeout),
                  (s, line) -> {
                    if (line.equals("ready")) {
                      ready.complete(null);
                    }
                  })
              .result()
              .get(timeout.toSeconds() + 30, SECONDS);
      // Read after the result: its output was all read by then, so "ready" was seen if printed.
      if (ready.isDone()) {
        return r;
      }
    }
    throw new AssertionError(
        "the command never printed ready before its timeout, the last " + timeout.dividedBy(2));
  }

  @Test
  void cancel_killsTheWholeTree() throws Exception {
    List<String> argv = new ArrayList<>();
    Path pidFile = treeScript(argv);
    CompletableFuture<Void> ready = new CompletableFuture<>();
    RunningCommand c =
        shell.start(
            spec(argv).withGracePeriod(SHORT_GRACE),
            (s, line) -> {
              if (line.equals("ready")) {
                ready.complete(null);
              }
            });
    ready.get(10, SECONDS);

    c.cancel();
    c.cancel();
    CommandResult r = c.result().get(10, SECONDS);

    assertEquals(Outcome.CANCELLED, r.outcome());
    for (long pid : readPids(pidFile)) {
      assertFalse(Pids.isRunning(pid), "pid " + pid + " is still running");
    }
  }

  @Test
  void exit_stopsWhatTheCommandLeftRunning() throws Exception {
    Path pidFile = dir.resolve("pids");
    String script = "(sleep 300 & echo $! > \"$1\"); sleep 300 & echo done";

    CommandResult r =
        shell.run(
            spec(ScriptCommands.bash(script, List.of(pidFile.toString())))
                .withGracePeriod(SHORT_GRACE));

    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(0, r.exitCode());
    assertEquals("done\n", out(r));
    long escaped = Long.parseLong(Files.readString(pidFile).trim());
    assertFalse(Pids.isRunning(escaped), "pid " + escaped + " is still running");
  }

  @Test
  void stop_leavesUnrelatedProcessesAlone() throws Exception {
    // Started by the test, not the command: same user, same output destination type, not ours.
    Process bystander = new ProcessBuilder("sleep", "300").start();
    try {
      List<String> argv = new ArrayList<>();
      treeScript(argv);

      CommandResult r =
          shell.start(spec(argv).withTimeout(SHORT_TIMEOUT).withGracePeriod(SHORT_GRACE), OutputListener.discard())
              .result()
              .get(10, SECONDS);

      assertEquals(Outcome.TIMED_OUT, r.outcome());
      assertTrue(bystander.isAlive(), "a process outside the command was stopped");
    } finally {
      bystander.destroyForcibly();
    }
  }

  @Test
  void timeout_processIgnoringSigterm_isKilledAfterTheGracePeriod() throws Exception {
    // "ready" comes after the trap, so a run that printed it had SIGTERM ignored by then.
    String script = "trap '' TERM; echo ready; while :; do sleep 0.05; done";

    CommandResult r =
        timedOutAfterReady(
            spec(ScriptCommands.bash(script, List.of())).withGracePeriod(SHORT_GRACE), () -> {});

    assertEquals(Outcome.TIMED_OUT, r.outcome());
    assertEquals(128 + 9, r.exitCode(), "SIGTERM was ignored, so it took SIGKILL");
  }

  @Test
  void cancel_afterTheCommandEnded_changesNothing() throws Exception {
    RunningCommand c = shell.start(spec(List.of("true")), OutputListener.discard());
    CommandResult r = c.result().get(10, SECONDS);

    c.cancel();

    assertEquals(Outcome.EXITED, c.result().get(10, SECONDS).outcome());
    assertEquals(0, r.exitCode());
  }

  @Test
  void resources_areReportedForACommandThatWorks() {
    // A few hundred milliseconds of pure bash arithmetic: several samples at the default interval.
    String script = "i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; echo $i";

    CommandResult r = shell.run(spec(ScriptCommands.bash(script, List.of())));

    assertEquals("60000\n", out(r));
    assertTrue(r.cpuTime().toNanos() > 0, "cpu time " + r.cpuTime());
    assertTrue(r.peakMemoryBytes() > 0, "peak memory " + r.peakMemoryBytes());
    assertTrue(r.wallTime().toNanos() > 0, "wall time " + r.wallTime());
  }

  @Test
  void concurrentCommands_eachGetTheirOwnResult() throws Exception {
    List<CompletableFuture<CommandResult>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      results.add(
          shell
              .start(
                  spec(ScriptCommands.bash("sleep 0.1; echo $1; echo err$1 >&2; exit $1", List.of("" + i))),
                  OutputListener.discard())
              .result());
    }
    for (int i = 0; i < 8; i++) {
      CommandResult r = results.get(i).get(10, SECONDS);
      assertEquals(i, r.exitCode());
      assertEquals(i + "\n", out(r));
      assertEquals("err" + i + "\n", new String(r.stderr(), UTF_8));
    }
  }

  /** A thread factory that keeps every thread it makes in {@code created}. */
  private static java.util.concurrent.ThreadFactory recordingInto(List<Thread> created) {
    return task -> {
      Thread t = new Thread(task);
      created.add(t);
      return t;
    };
  }

  @Test
  void providerThreads_endOnceNoCommandRuns() throws Exception {
    List<Thread> created = new CopyOnWriteArrayList<>();
    ProcessShellProvider provider =
        launch.builder()
            .idleThreadTimeout(Duration.ofMillis(100))
            .threadFactory(recordingInto(created))
            .build();

    // start(), not run(): run() reads the output on the caller's thread, and may need none.
    provider
        .start(spec(ScriptCommands.bash("echo hi; sleep 0.1", List.of())), OutputListener.discard())
        .result()
        .get(30, TimeUnit.SECONDS);

    assertFalse(created.isEmpty());
    for (Thread t : created) {
      assertTrue(t.isDaemon());
      assertTrue(t.getName().startsWith("buildnet-exec-"), t.getName());
      t.join(10_000);
      assertFalse(t.isAlive(), t.getName() + " is still running");
    }
  }

  @Test
  void run_readsTheOutputOnTheCallingThread_noReaderThreadOfTheProvidersWakes() {
    assumeTrue(LinuxProcfs.isUsable(), "the command's own loop needs Linux with JNA and pidfds");
    List<Thread> created = new CopyOnWriteArrayList<>();
    ProcessShellProvider provider =
        launch.builder()
            .threadFactory(recordingInto(created))
            .build();

    CommandResult r =
        provider.run(spec(ScriptCommands.bash("echo out; echo err >&2; exit 3", List.of())));

    assertEquals(3, r.exitCode());
    assertEquals("out\n", out(r));
    assertEquals("err\n", new String(r.stderr(), UTF_8));
    // The provider names its threads after creating them: the reader pool's are
    // buildnet-exec-reader-idle, the scheduler's (timers, stops) buildnet-exec-sampler.
    List<String> readers =
        created.stream()
            .map(Thread::getName)
            .filter(name -> !name.equals("buildnet-exec-sampler"))
            .collect(Collectors.toList());
    assertEquals(List.of(), readers);
  }

  @Test
  void run_onTheCallingThread_timesOutAndKillsTheWholeTree() throws Exception {
    List<String> argv = new ArrayList<>();
    Path pidFile = treeScript(argv);
    String callerName = Thread.currentThread().getName();

    // As timedOutAfterReady, through run(): its output, read once it returns, says whether the
    // tree was set up ("ready") before the timeout.
    CommandResult r = null;
    Duration timeout = SHORT_TIMEOUT;
    for (int attempt = 0; attempt < 6; attempt++, timeout = timeout.multipliedBy(2)) {
      Files.deleteIfExists(pidFile);
      r = shell.run(spec(argv).withTimeout(timeout).withGracePeriod(SHORT_GRACE));
      if (out(r).contains("ready")) {
        break;
      }
    }

    assertTrue(out(r).contains("ready"), "the command never printed ready before its timeout");
    assertEquals(Outcome.TIMED_OUT, r.outcome());
    assertEquals(callerName, Thread.currentThread().getName(), "the caller's thread was renamed");
    for (long pid : readPids(pidFile)) {
      assertFalse(Pids.isRunning(pid), "pid " + pid + " is still running");
    }
  }

  @Test
  void builder_rejectsRepeatedAndInvalidSettings() {
    ProcessShellProvider.Builder b = launch.builder().sampleInterval(Duration.ofMillis(20));
    IllegalStateException again =
        assertThrows(IllegalStateException.class, () -> b.sampleInterval(Duration.ofMillis(30)));
    assertEquals("sample interval was already set to PT0.02S", again.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> launch.builder().sampleInterval(Duration.ofMillis(1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> launch.builder().idleThreadTimeout(Duration.ZERO));
  }
}
