package dev.buildnet.worker;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.NotStartedException;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.Ack;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.BuildStarted;
import dev.buildnet.internal.protocol.Payloads.TargetCancel;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.PeerConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose shell finishes commands in-process as it starts them: such attempts (no inputs,
 * no outputs, no bundler) start and end on the worker's network loop, and must answer exactly as
 * attempts on runner threads do.
 */
class InProcessShellWorkerTest {
  private static final byte[] SECRET = "worker test secret, 32 bytes ok!".getBytes(UTF_8);
  private static final Duration T = Duration.ofSeconds(10);
  private static final String RUNNER = "buildnet-worker-w-inline-run";

  @TempDir Path tmp;
  private WorkerTest.FakeMaster master;
  private Worker worker;
  private final Shell shell = new Shell();

  @BeforeEach
  void start() throws Exception {
    master = new WorkerTest.FakeMaster(0);
    worker = Worker.builder()
        .master("127.0.0.1", master.port())
        .transport(TransportSettings.ofSecret(SECRET))
        .workerId("w-inline")
        .cpuSlots(1)
        .memoryMb(1024)
        .shell(shell)
        .workDir(tmp.resolve("work"))
        .build()
        .connect();
    assertTrue(worker.awaitConnected(T));
  }

  @AfterEach
  void stop() {
    worker.close();
    master.close();
  }

  private static TargetRun run(String target, String... argv) {
    return new TargetRun("b-1", target, 1, List.of(argv), "", Map.of(), List.of(), List.of(), null,
        null);
  }

  @Test
  void attemptsTheShellFinishesAsItStartsAnswerInOrderAndFreeTheirSlotWithoutARunnerThread()
      throws Exception {
    PeerConnection c = master.awaitWorker();
    for (int i = 0; i < 20; i++) { // one slot: each must have been released for the next
      String target = "t" + i;
      BuildStarted s = assertInstanceOf(BuildStarted.class,
          c.request(run(target, "echo", "line " + i), T).get(10, TimeUnit.SECONDS).payload());
      assertEquals(target, s.target());
      BuildCompleted done = assertInstanceOf(BuildCompleted.class, master.terminal(target, 1));
      assertEquals(List.of(), done.outputs());
      synchronized (master.seen) {
        int line = indexOf(p -> p instanceof BuildProgress b && b.target().equals(target));
        assertTrue(line >= 0 && line < master.seen.indexOf(done), "the log line came after the result");
      }
      assertEquals(List.of("line " + i), master.logLines(target, "stdout"));
    }
    assertEquals(0, worker.runningAttempts());
    assertFalse(shell.startedOnRunner("echo"), "an attempt started on a runner thread");
    assertTrue(Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().startsWith(RUNNER)),
        "an attempt the shell finished while starting it took a runner thread");
  }

  @Test
  void failuresOnTheLoopAreReportedAsOnARunnerThread() throws Exception {
    PeerConnection c = master.awaitWorker();
    c.request(run("bad", "exit", "3"), T).get(10, TimeUnit.SECONDS);
    BuildFailed exit = assertInstanceOf(BuildFailed.class, master.terminal("bad", 1));
    assertEquals(3L, exit.exitCode());
    assertFalse(exit.retryable());
    assertEquals("command exit exited with code 3", exit.error());

    c.request(run("gone", "missing"), T).get(10, TimeUnit.SECONDS);
    BuildFailed missing = assertInstanceOf(BuildFailed.class, master.terminal("gone", 1));
    assertEquals("cannot start missing: no such program: missing", missing.error());
    assertFalse(missing.retryable());

    c.request(new TargetRun("b-1", "out", 1, List.of("echo", "x"), "../elsewhere", Map.of(),
        List.of(), List.of(), null, null), T).get(10, TimeUnit.SECONDS);
    BuildFailed escape = assertInstanceOf(BuildFailed.class, master.terminal("out", 1));
    assertTrue(escape.error().contains("escapes the sandbox"), escape.error());

    c.request(run("after", "echo", "fine"), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("after", 1));
  }

  @Test
  void whatACommandLeftInTheSandboxIsGoneBeforeTheNextAttemptRuns() throws Exception {
    PeerConnection c = master.awaitWorker();
    c.request(run("litter", "litter"), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("litter", 1));
    c.request(run("check", "empty?"), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("check", 1),
        "the next attempt found the last one's file in its sandbox");
  }

  @Test
  void aSandboxReplacedByALinkIsNotFollowedByTheNextAttempt() throws Exception {
    Path outside = Files.createDirectory(tmp.resolve("outside"));
    PeerConnection c = master.awaitWorker();
    // Leaves its sandbox a link to an empty directory outside the worker: listed through the
    // link, it looks empty, so the worker hands the same path to the next attempt (one slot).
    c.request(run("swap", "swap", outside.toString()), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("swap", 1));
    c.request(run("after", "litter"), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("after", 1));
    try (Stream<Path> there = Files.list(outside)) {
      assertEquals(List.of(), there.toList(), "the next attempt wrote where the link pointed");
    }
  }

  @Test
  void aCommandStillRunningAfterItsStartIsCancelledAndLaterAttemptsStillRun() throws Exception {
    PeerConnection c = master.awaitWorker();
    c.request(run("slow", "wait"), T).get(10, TimeUnit.SECONDS);
    shell.waiting.poll(10, TimeUnit.SECONDS);
    assertEquals(1, worker.runningAttempts());

    assertInstanceOf(Ack.class, c.request(new TargetCancel("b-1", "slow", 1, "superseded"), T)
        .get(10, TimeUnit.SECONDS).payload());
    BuildFailed f = assertInstanceOf(BuildFailed.class, master.terminal("slow", 1));
    assertEquals("cancelled: superseded", f.error());
    assertTrue(f.retryable());

    // From now on this worker's attempts run on runner threads: same answers.
    c.request(run("next", "echo", "still"), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("next", 1));
    assertEquals(List.of("still"), master.logLines("next", "stdout"));
    assertTrue(shell.startedOnRunner("echo"), "a shell whose command outlived its start kept"
        + " starting commands on the network loop");
  }

  @Test
  void closingCancelsAnAttemptStartedOnTheLoopAndWaitsForItsEnd() throws Exception {
    PeerConnection c = master.awaitWorker();
    c.request(run("slow", "wait"), T).get(10, TimeUnit.SECONDS);
    shell.waiting.poll(10, TimeUnit.SECONDS);
    worker.close();
    assertEquals(0, worker.runningAttempts());
    assertFalse(Files.exists(tmp.resolve("work").resolve("sandboxes")));
  }

  private int indexOf(java.util.function.Predicate<Payload> p) {
    for (int i = 0; i < master.seen.size(); i++) {
      if (p.test(master.seen.get(i))) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Runs argv in-process: {@code echo TEXT} prints a line, {@code exit N} exits N, {@code missing}
   * cannot start, {@code litter} writes a file in its directory, {@code empty?} fails if its
   * directory is not empty, {@code swap DIR} replaces its directory with a link to DIR, and
   * {@code wait} runs until cancelled.
   */
  static final class Shell implements ShellProvider {
    final LinkedBlockingQueue<String> waiting = new LinkedBlockingQueue<>();
    /** Each start's program and the thread that started it. */
    final List<String[]> starts = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Whether a command named {@code program} was started on a worker's runner thread. */
    boolean startedOnRunner(String program) {
      return starts.stream().anyMatch(s -> s[0].equals(program) && s[1].startsWith(RUNNER));
    }

    @Override
    public RunningCommand start(CommandSpec spec, OutputListener listener) {
      List<String> argv = spec.argv();
      starts.add(new String[] {argv.get(0), Thread.currentThread().getName()});
      CompletableFuture<CommandResult> result = new CompletableFuture<>();
      switch (argv.get(0)) {
        case "echo" -> {
          listener.onLine(OutputListener.Stream.STDOUT, argv.get(1));
          result.complete(exited(0));
        }
        case "exit" -> result.complete(exited(Integer.parseInt(argv.get(1))));
        case "missing" -> throw new NotStartedException(NotStartedException.Reason.COMMAND,
            "no such program: missing");
        case "litter" -> {
          try {
            Files.writeString(spec.workingDirectory().resolve("left.txt"), "left");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          result.complete(exited(0));
        }
        case "empty?" -> {
          try (Stream<Path> in = Files.list(spec.workingDirectory())) {
            result.complete(exited(in.findAny().isPresent() ? 1 : 0));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        case "swap" -> {
          try {
            Files.delete(spec.workingDirectory());
            Files.createSymbolicLink(spec.workingDirectory(), Path.of(argv.get(1)));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          result.complete(exited(0));
        }
        case "wait" -> waiting.add(spec.workingDirectory().toString());
        default -> throw new IllegalArgumentException("unknown command " + argv);
      }
      return new RunningCommand() {
        @Override
        public long pid() {
          return -1;
        }

        @Override
        public CompletableFuture<CommandResult> result() {
          return result;
        }

        @Override
        public void cancel() {
          result.complete(new CommandResult(CommandResult.Outcome.CANCELLED, -1, new byte[0],
              new byte[0], false, Duration.ZERO, Duration.ZERO, 0));
        }
      };
    }

    private static CommandResult exited(int code) {
      return new CommandResult(CommandResult.Outcome.EXITED, code, new byte[0], new byte[0], false,
          Duration.ZERO, Duration.ZERO, 0);
    }
  }
}
