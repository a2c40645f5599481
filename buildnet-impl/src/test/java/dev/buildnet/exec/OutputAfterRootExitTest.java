package dev.buildnet.exec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandResult.Outcome;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.internal.exec.LinuxProcfs;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.internal.exec.ScriptCommands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Output written by a command's descendants after its root process exited is read in full (Linux:
 * the provider's own pipes, which the JDK cannot close when the root exits), and what a command
 * leaves behind is still stopped, with what it wrote kept.
 */
@ParameterizedClass
@EnumSource(Launch.class)
class OutputAfterRootExitTest {
  private final Launch launch;

  private static final int LINES = 131_072;
  private static final String LINE = "0123456\n"; // 8 bytes: LINES of them are 1 MiB
  // The child ignores SIGTERM and the grace period outlasts any test run, so the provider's stop
  // of what the root left behind (50 ms after the root's exit) cannot cut the child short: what
  // is tested is the pipe, not how quickly a loaded machine writes 1 MiB.
  private static final Duration LONG_GRACE = Duration.ofMinutes(5);

  @TempDir Path dir;

  OutputAfterRootExitTest(Launch launch) {
    this.launch = launch;
  }

  @BeforeAll
  static void linuxOnly() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
  }

  @Test
  void stdout_writtenByAChildAfterTheRootExited_isReadInFull() throws Exception {
    CommandResult r = rootExitsThenChildWrites("");

    assertArrayEquals(expected(), r.stdout(), summary(r.stdout()));
    assertEquals(0, r.stderr().length, new String(r.stderr(), UTF_8));
    assertFalse(r.outputTruncated());
  }

  @Test
  void stderr_writtenByAChildAfterTheRootExited_isReadInFull() throws Exception {
    CommandResult r = rootExitsThenChildWrites(" >&2");

    assertArrayEquals(expected(), r.stderr(), summary(r.stderr()));
    assertEquals(0, r.stdout().length, new String(r.stdout(), UTF_8));
    assertFalse(r.outputTruncated());
  }

  @Test
  void withoutPidfd_readerThreadsOnTheOwnPipes_readWhatAChildWroteAfterTheRootExited()
      throws Exception {
    CommandResult r = rootExitsThenChildWrites("", launch.builder().withoutPidfd());

    assertArrayEquals(expected(), r.stdout(), summary(r.stdout()));
    assertEquals(0, r.stderr().length, new String(r.stderr(), UTF_8));
    assertFalse(r.outputTruncated());
  }

  /**
   * The worst order, every time: the root exits and the JDK is done with it before the provider's
   * reader threads start (as on a loaded machine), and only then does its child write. The JDK's
   * own pipes are closed by then, so the child would die of SIGPIPE at its first write.
   */
  private CommandResult rootExitsThenChildWrites(String redirect) throws Exception {
    return rootExitsThenChildWrites(redirect, launch.builder());
  }

  private CommandResult rootExitsThenChildWrites(String redirect, ProcessShellProvider.Builder b)
      throws Exception {
    CompletableFuture<Void> readersMayStart = new CompletableFuture<>();
    ProcessShellProvider shell = b.threadFactory(heldReaders(readersMayStart)).build();
    String script =
        "mkfifo go; (trap '' TERM; read x < go; yes 0123456 | head -n " + LINES + redirect
            + "; echo \"$?\" > child.status) & exit 0";
    AtomicLong count = new AtomicLong();
    RunningCommand c =
        shell.start(
            CommandSpec.of(ScriptCommands.sh(script, List.of()), dir, Map.of())
                .withGracePeriod(LONG_GRACE),
            (stream, line) -> count.incrementAndGet());
    try {
      awaitJdkDoneWith(c.pid());
      release(dir.resolve("go"));
    } finally {
      readersMayStart.complete(null);
    }
    CommandResult r = c.result().get(120, SECONDS);
    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(0, r.exitCode());
    assertEquals("0", Files.readString(dir.resolve("child.status")).strip(),
        "the child's writer ended by itself (141 is SIGPIPE)");
    assertEquals(LINES, count.get(), "every line reached the listener");
    return r;
  }

  @Test
  void aDescendantThatNeverClosesThePipe_isStopped_andWhatItWroteIsKept() throws Exception {
    // The root exits once its child has written 1 MiB; the child then keeps the pipe open for
    // good, so the provider must stop it, and then read to the end.
    ProcessShellProvider shell = launch.builder().build();
    String script =
        "mkfifo ready; (yes 0123456 | head -n " + LINES + "; sleep 1000 & echo $! > left.pid; "
            + "echo > ready; wait) & read x < ready; exit 0";

    CommandResult r =
        shell.run(CommandSpec.of(ScriptCommands.sh(script, List.of()), dir, Map.of())
            .withGracePeriod(Duration.ofMillis(200)));

    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(0, r.exitCode());
    assertArrayEquals(expected(), r.stdout(), summary(r.stdout()));
    long left = Long.parseLong(Files.readString(dir.resolve("left.pid")).strip());
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (Pids.isRunning(left)) { // the result is in once it is stopped; /proc may lag
      assertTrue(System.nanoTime() - deadline < 0, "pid " + left + " is still running");
      Thread.sleep(20);
    }
  }

  @Test
  void twoThousandCommands_leaveNoDescriptorOpen() throws Exception {
    ProcessShellProvider shell = launch.builder().build();
    CommandSpec spec =
        CommandSpec.of(ScriptCommands.sh("echo out; echo err >&2", List.of()), dir, Map.of());
    shell.run(spec); // loads what the first command needs (JNA, classes) once
    long before = openFds();

    for (int i = 0; i < 2000; i++) {
      CommandResult r = shell.run(spec);
      assertEquals("out\n", new String(r.stdout(), UTF_8));
      assertEquals("err\n", new String(r.stderr(), UTF_8));
    }

    // Every command's fds are closed before its result is in; the wait only covers fds of this
    // JVM's own (a class loaded, a log file) that come and go meanwhile.
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    long now;
    while ((now = openFds()) > before) {
      assertTrue(System.nanoTime() - deadline < 0, before + " fds before, " + now + " after: "
          + fdTargets());
      Thread.sleep(50);
    }
  }

  @Test
  void withoutJna_theJdksPipesStillCarryTheOutput() throws Exception {
    ProcessShellProvider degraded = launch.builder().withoutNativeCalls().build();

    CommandResult r = degraded.run(CommandSpec.of(
        ScriptCommands.sh("echo out; echo err >&2", List.of()), dir, Map.of()));

    assertEquals("out\n", new String(r.stdout(), UTF_8));
    assertEquals("err\n", new String(r.stderr(), UTF_8));
  }

  private static byte[] expected() {
    return LINE.repeat(LINES).getBytes(UTF_8);
  }

  private static String summary(byte[] got) {
    return got.length + " bytes, expected " + LINES * LINE.length();
  }

  /** Threads that, in the provider's reader pool, wait for {@code open} before their first task. */
  private static ThreadFactory heldReaders(CompletableFuture<Void> open) {
    return task -> new Thread(() -> {
      // The provider names a thread after creating it and before starting it.
      if (Thread.currentThread().getName().startsWith("buildnet-exec-reader")) {
        open.join();
      }
      task.run();
    });
  }

  /**
   * Waits until {@code pid} has been reaped and the JDK has run its exit hooks for it (which close
   * the JDK's own pipes of the process): every JDK reaper thread is then idle in its pool or
   * waiting for another process. A root started by posix_spawn has no JDK reaper, and only the
   * held loop reaps it: there, waits until it has exited.
   */
  private void awaitJdkDoneWith(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(60);
    while (launch == Launch.POSIX_SPAWN ? !exited(pid) : !gone(pid) || !reapersIdle()) {
      assertTrue(System.nanoTime() - deadline < 0, "the root (pid " + pid + ") never ended");
      Thread.sleep(1);
    }
  }

  private static boolean gone(long pid) {
    return !Files.exists(Path.of("/proc/" + pid));
  }

  private static boolean exited(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
    } catch (IOException e) {
      return true; // gone
    }
  }

  private static boolean reapersIdle() {
    return Thread.getAllStackTraces().entrySet().stream()
        .filter(e -> e.getKey().getName().equals("process reaper"))
        .allMatch(e -> {
          StackTraceElement[] stack = e.getValue();
          if (stack.length == 0) {
            return true; // not started yet or ended
          }
          String top = stack[0].getMethodName();
          // Parked in the reaper pool, or in waitpid for some other process.
          return top.equals("park") || top.equals("waitForProcessExit0");
        });
  }

  /** Lets the child past {@code read x < go}; opening the FIFO waits for the child to open it. */
  private static void release(Path fifo) throws Exception {
    CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
      try {
        Files.writeString(fifo, "go\n");
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    written.get(60, SECONDS); // a failure bound only: the child opens the FIFO at once
  }

  private static long openFds() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  private static List<String> fdTargets() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.map(p -> {
        try {
          return p.getFileName() + "->" + Files.readSymbolicLink(p);
        } catch (IOException e) {
          return p.getFileName() + "->?";
        }
      }).toList();
    }
  }
}
