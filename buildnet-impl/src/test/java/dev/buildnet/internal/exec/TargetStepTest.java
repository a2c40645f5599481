package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.bundle.CommandBundlerAdapter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The core a master's local run and a Java worker share to run one target: real processes, real
 * files. Each side phrases the result itself; these pin what the core reports.
 */
class TargetStepTest {
  private static final long WAIT = 30;

  @TempDir Path dir;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final TargetStep.Lines collect = (stream, line) -> lines.add(stream + ":" + line);

  private static TargetStep step() {
    return new TargetStep(ShellProvider.processes(), Map.of("upcase",
        CommandBundlerAdapter.builder("upcase")
            .command(List.of("sh", "-c", "mkdir -p \"$1\" && tr a-z A-Z < \"$2\" > \"$1/a.txt\"",
                "sh", "{outDir}", "{entrypoints}"))
            .version("1").shell(ShellProvider.processes()).hashes(HashProvider.xxh64()).build()));
  }

  private TargetStep.Spec command(Duration timeout, String... argv) {
    return new TargetStep.Spec("b1", "t", dir, dir, List.of(argv), Map.of(), timeout, null, null);
  }

  private TargetStep.Spec bundle(String adapter) {
    return new TargetStep.Spec("b1", "t", dir, dir, List.of(), Map.of(), null, null,
        new TargetStep.Bundle(adapter, List.of("in.txt"), dir.resolve("dist"), Map.of()));
  }

  @Test
  void aCommandThatExitsZeroSucceedsAndStreamsItsLines() {
    TargetStep.Result r = step().run(command(null, "sh", "-c", "echo out; echo err >&2"), collect,
        new TargetStep.Cancel());
    assertEquals(TargetStep.Outcome.SUCCEEDED, r.outcome());
    assertEquals(0, r.exitCode());
    assertEquals("out\n", new String(r.stdout(), StandardCharsets.UTF_8));
    assertTrue(lines.contains(OutputListener.Stream.STDOUT + ":out"), lines.toString());
    assertTrue(lines.contains(OutputListener.Stream.STDERR + ":err"), lines.toString());
  }

  @Test
  void aNonZeroExitFailsWithItsCode() {
    TargetStep.Result r = step().run(command(null, "sh", "-c", "exit 3"), collect,
        new TargetStep.Cancel());
    assertEquals(TargetStep.Outcome.FAILED, r.outcome());
    assertEquals(3, r.exitCode());
  }

  @Test
  void aCommandPastItsTimeoutIsTimedOut() {
    TargetStep.Result r = step().run(command(Duration.ofMillis(200), "sleep", "60"), collect,
        new TargetStep.Cancel());
    assertEquals(TargetStep.Outcome.TIMED_OUT, r.outcome());
  }

  @Test
  void aCommandThatCannotStartDidNotStartAndSaysWhy() {
    TargetStep.Result r = step().run(command(null, dir.resolve("no-such-tool").toString()),
        collect, new TargetStep.Cancel());
    assertEquals(TargetStep.Outcome.NOT_STARTED, r.outcome());
    assertNotNull(r.problem());
  }

  @Test
  void aStepCancelledBeforeItStartsNeverRuns() {
    TargetStep.Cancel cancel = new TargetStep.Cancel();
    cancel.cancel("the build was cancelled");
    TargetStep.Result r = step().run(command(null, "touch", "ran"), collect, cancel);
    assertEquals(TargetStep.Outcome.CANCELLED, r.outcome());
    assertFalse(Files.exists(dir.resolve("ran")));
    assertEquals("the build was cancelled", cancel.reason());
  }

  @Test
  void aCancelWhileTheCommandRunsStopsIt() throws Exception {
    TargetStep.Cancel cancel = new TargetStep.Cancel();
    CompletableFuture<TargetStep.Result> r = CompletableFuture.supplyAsync(() ->
        step().run(command(null, "sh", "-c", "touch started; sleep 60"), collect, cancel));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!Files.exists(dir.resolve("started"))) {
      assertTrue(System.nanoTime() < deadline, "the command never started");
      Thread.sleep(10); // polling a file the command creates; there is no event for it
    }
    cancel.cancel("stop");
    assertEquals(TargetStep.Outcome.CANCELLED, r.get(WAIT, TimeUnit.SECONDS).outcome());
  }

  /**
   * The step's thread would only wait for the command: it runs the command's loop itself, so the
   * output reaches the listener on it, and no thread of the shell's wakes for the command.
   */
  @Test
  void theCallersThreadRunsTheCommand_andGetsItsOutput() {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
    Thread caller = Thread.currentThread();
    List<Thread> readers = new CopyOnWriteArrayList<>();
    TargetStep.Lines onWhichThread = (stream, line) -> readers.add(Thread.currentThread());

    TargetStep.Result r = step().run(command(null, "sh", "-c", "echo out; echo err >&2"),
        onWhichThread, new TargetStep.Cancel());

    assertEquals(TargetStep.Outcome.SUCCEEDED, r.outcome());
    assertEquals(List.of(caller, caller), readers);
  }

  /**
   * The caller's thread is inside the command's loop, blocked in poll(2), which an interrupt does
   * not wake: the interrupt still cancels the command as it did while the thread only waited, and
   * the step ends once the command's root has gone.
   */
  @Test
  void anInterruptOfTheCallerInsideTheLoop_cancelsTheCommand() throws Exception {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
    List<Long> pids = new CopyOnWriteArrayList<>();
    CompletableFuture<TargetStep.Result> result = new CompletableFuture<>();
    CompletableFuture<Boolean> interruptKept = new CompletableFuture<>();
    Thread caller = new Thread(() -> {
      try {
        result.complete(step().run(command(null, "sh", "-c", "echo $$ > pid; exec sleep 60"),
            collect, new TargetStep.Cancel()));
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
      interruptKept.complete(Thread.currentThread().isInterrupted());
    }, "a build's thread");
    caller.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    Path pidFile = dir.resolve("pid");
    while (!Files.exists(pidFile) || Files.readString(pidFile).isBlank()) {
      assertTrue(System.nanoTime() < deadline, "the command never started");
      Thread.sleep(10); // polling a file the command creates; there is no event for it
    }
    long pid = Long.parseLong(Files.readString(pidFile).strip());
    ProcessHandle root = ProcessHandle.of(pid).orElseThrow();

    caller.interrupt();

    assertEquals(TargetStep.Outcome.CANCELLED, result.get(WAIT, TimeUnit.SECONDS).outcome());
    assertTrue(interruptKept.get(WAIT, TimeUnit.SECONDS), "the interrupt status is the caller's");
    assertFalse(root.isAlive(), "the step ended with its command still running");
  }

  @Test
  void aBundlerRunsWithItsEntrypointsAndOutDir() throws Exception {
    Files.writeString(dir.resolve("in.txt"), "hello\n");
    TargetStep.Result r = step().run(bundle("upcase"), collect, new TargetStep.Cancel());
    assertEquals(TargetStep.Outcome.SUCCEEDED, r.outcome(), r.errors().toString());
    assertEquals("HELLO\n", Files.readString(dir.resolve("dist/a.txt")));
    assertFalse(Thread.currentThread().isInterrupted());
  }

  @Test
  void anUnknownBundlerDoesNotStartAndHasNoReasonOfItsOwn() {
    TargetStep step = step();
    TargetStep.Result r = step.run(bundle("nope"), collect, new TargetStep.Cancel());
    assertEquals(TargetStep.Outcome.NOT_STARTED, r.outcome());
    assertNull(r.problem());
    assertFalse(step.hasBundler("nope"));
    assertTrue(step.hasBundler("upcase"));
  }
}
