package dev.buildnet.exec;

import dev.buildnet.internal.exec.*;

import dev.buildnet.exec.ProcessShellProvider;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandResult.Outcome;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * No process a command started outlives it, on Linux: background children, and daemons that
 * double-fork into a session of their own with their output sent elsewhere, are gone once the
 * result is in, whichever way the command ended.
 */
@ParameterizedClass
@EnumSource(Launch.class)
class LeftBehindProcessesTest {
  private final Launch launch;

  private static final Duration GRACE = Duration.ofMillis(200);

  private final ProcessShellProvider shell;

  @TempDir Path dir;

  LeftBehindProcessesTest(Launch launch) {
    this.launch = launch;
    this.shell = launch.builder().build();
  }

  @BeforeAll
  static void linuxOnly() {
    assumeTrue(LinuxProcfs.isUsable(), "needs /proc");
  }

  /** Leaves {@code sleep 1000} running in the background and writes its pid to {@code bg.pid}. */
  private static final String BACKGROUND = "sleep 1000 & echo $! > bg.pid; echo started; ";

  /**
   * Starts a daemon the classic way: setsid (a session of its own), a fork whose parent exits (so
   * it is re-parented at once), all output away from the command's pipes. Waits until it runs.
   */
  private static final String DAEMON =
      "setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > daemon.pid' "
          + "</dev/null >/dev/null 2>&1 & "
          + "while [ ! -s daemon.pid ]; do sleep 0.01; done; echo started; ";

  private CommandSpec sh(String script) {
    return CommandSpec.of(ScriptCommands.sh(script, List.of()), dir, Map.of()).withGracePeriod(GRACE);
  }

  private long pid(String file) throws IOException {
    return Long.parseLong(Files.readString(dir.resolve(file)).strip());
  }

  /** Polls until {@code pid} has no /proc entry at all: killed and reaped, not a zombie. */
  private static void awaitGoneAndReaped(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (Files.exists(Path.of("/proc/" + pid))) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("pid " + pid + " is still there " + state(pid));
      }
      Thread.sleep(20);
    }
  }

  private static String state(long pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/stat"));
    } catch (IOException e) {
      return "(gone)";
    }
  }

  private CommandResult startAndCancelWhenStarted(String script) throws Exception {
    CompletableFuture<Void> started = new CompletableFuture<>();
    RunningCommand c =
        shell.start(
            sh(script),
            (stream, line) -> {
              if (line.equals("started")) {
                started.complete(null);
              }
            });
    started.get(30, SECONDS);
    c.cancel();
    return c.result().get(30, SECONDS);
  }

  @Test
  void backgroundChild_isGone_afterSuccess() throws Exception {
    CommandResult r = shell.run(sh(BACKGROUND));

    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(0, r.exitCode());
    awaitGoneAndReaped(pid("bg.pid"));
  }

  @Test
  void backgroundChild_isGone_afterFailure() throws Exception {
    CommandResult r = shell.run(sh(BACKGROUND + "exit 3"));

    assertEquals(Outcome.EXITED, r.outcome());
    assertEquals(3, r.exitCode());
    awaitGoneAndReaped(pid("bg.pid"));
  }

  @Test
  void backgroundChild_isGone_afterTimeout() throws Exception {
    CommandResult r = shell.run(sh(BACKGROUND + "exec sleep 1000").withTimeout(Duration.ofSeconds(3)));

    assertEquals(Outcome.TIMED_OUT, r.outcome());
    assertTrue(Files.exists(dir.resolve("bg.pid")), "the background child started before the timeout");
    awaitGoneAndReaped(pid("bg.pid"));
  }

  @Test
  void backgroundChild_isGone_afterCancel() throws Exception {
    CommandResult r = startAndCancelWhenStarted(BACKGROUND + "exec sleep 1000");

    assertEquals(Outcome.CANCELLED, r.outcome());
    awaitGoneAndReaped(pid("bg.pid"));
  }

  @Test
  void doubleForkedDaemon_isGone_afterTheCommandExits() throws Exception {
    CommandResult r = shell.run(sh(DAEMON + "echo $$ > root.pid"));

    assertEquals(0, r.exitCode());
    awaitGoneAndReaped(pid("daemon.pid"));
  }

  @Test
  void doubleForkedDaemon_isGone_afterCancel() throws Exception {
    CommandResult r = startAndCancelWhenStarted(DAEMON + "exec sleep 1000");

    assertEquals(Outcome.CANCELLED, r.outcome());
    awaitGoneAndReaped(pid("daemon.pid"));
  }

  @Test
  void doubleForkedDaemon_isGone_afterTimeout() throws Exception {
    CommandResult r = shell.run(sh(DAEMON + "exec sleep 1000").withTimeout(Duration.ofSeconds(3)));

    assertEquals(Outcome.TIMED_OUT, r.outcome());
    assertTrue(Files.exists(dir.resolve("daemon.pid")), "the daemon started before the timeout");
    awaitGoneAndReaped(pid("daemon.pid"));
  }

  @Test
  void withoutJna_theDaemonIsStillFound_byItsMarkAmongAllProcesses() throws Exception {
    ProcessShellProvider degraded = launch.builder().withoutNativeCalls().build();

    CommandResult r = degraded.run(sh(DAEMON + "echo $$ > root.pid"));

    assertEquals(0, r.exitCode());
    long daemon = pid("daemon.pid");
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    // Not reaped in this mode if this JVM adopted it (another test made it a subreaper): a zombie
    // has ended, and that is what counts here.
    while (Pids.isRunning(daemon)) {
      assertTrue(System.nanoTime() - deadline < 0, "pid " + daemon + " is still running");
      Thread.sleep(20);
    }
  }

  @Test
  void daemon_reallyDetached_inItsOwnSession() throws Exception {
    // Guards the daemon tests above against testing something easier than they claim: the daemon
    // has left the command's session, so neither a session nor a process-group kill reaches it.
    CompletableFuture<Void> started = new CompletableFuture<>();
    RunningCommand c =
        shell.start(
            sh(DAEMON + "echo $$ > root.pid; exec sleep 1000"),
            (stream, line) -> {
              if (line.equals("started")) {
                started.complete(null);
              }
            });
    started.get(30, SECONDS);
    try {
      long daemon = pid("daemon.pid");
      assertNotEquals(sessionOf(c.pid()), sessionOf(daemon));
      assertNotEquals(c.pid(), parentOf(daemon), "the daemon is not the command's child");
    } finally {
      c.cancel();
      c.result().get(30, SECONDS);
    }
  }

  @Test
  void theMark_isInTheEnvironment_andDiffersPerCommand() throws Exception {
    CommandResult a = shell.run(CommandSpec.of(List.of("env"), dir, Map.of()));
    CommandResult b = shell.run(CommandSpec.of(List.of("env"), dir, Map.of()));

    String markA = new String(a.stdout()).strip();
    String markB = new String(b.stdout()).strip();
    assertTrue(markA.matches(ProcessShellProvider.MARK_VARIABLE + "=[0-9a-f]{32}"), markA);
    assertTrue(markB.matches(ProcessShellProvider.MARK_VARIABLE + "=[0-9a-f]{32}"), markB);
    assertNotEquals(markA, markB);
  }

  @Test
  void anAdoptedOrphan_isReapedOnceKilled() throws Exception {
    // The subshell exits at once, so its child is adopted by this JVM; once killed it must be
    // reaped by this JVM too, or it stays a zombie for as long as the JVM lives.
    RunningCommand c =
        shell.start(
            sh("(sleep 1000 & echo $! > bg.pid); echo started; exec sleep 1000"),
            OutputListener.discard());
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (!Files.exists(dir.resolve("bg.pid")) || Files.readString(dir.resolve("bg.pid")).isBlank()) {
      assertTrue(System.nanoTime() - deadline < 0, "the orphan was never started");
      Thread.sleep(20);
    }
    long orphan = pid("bg.pid");
    c.cancel();
    c.result().get(30, SECONDS);

    awaitGoneAndReaped(orphan);
  }

  @Test
  void anOrphanThatEndedBeforeAnyoneLooked_isReapedLater_notLeftAZombie() throws Exception {
    // Its environment is unreadable once it is a zombie, so no command can claim it; being this
    // JVM's child for longer than the JDK ever leaves one of its own unreaped, it is reaped at a
    // later stop. Two things must hold for that path to be the one taken: this JVM adopts the
    // orphan (the tests' providers are subreapers, see the pom; otherwise the machine's init
    // adopts it and may reap it at any moment), and no look at the command's tree sees the orphan
    // alive (it would then be the command's, and its stop would reap it). With an hour between
    // samples the only look before the stop is the first sample; the provider's sampling threads are
    // held until the root waits in `cat` on a FIFO, the sample is seen to have found that `cat`
    // (the leftovers record lists each member as it is found), and only then does the test let
    // the root go on to start the orphan.
    Path fifo = dir.resolve("go");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    Path record = dir.resolve("record");
    CompletableFuture<Void> samplerMayStart = new CompletableFuture<>();
    ProcessShellProvider shell =
        launch.builder()
            .subreaper(true)
            .sampleInterval(Duration.ofHours(1))
            .recordIn(record)
            .threadFactory(task -> new Thread(() -> {
              // The provider names its threads after creating them and before starting them. The
              // command's loop (a reader-pool thread) takes the samples where it runs, the
              // sampler elsewhere: both are held, or the first sample, 10 ms after the start,
              // can come before the root has started `cat` on a loaded machine.
              String name = Thread.currentThread().getName();
              if (name.equals("buildnet-exec-sampler") || name.startsWith("buildnet-exec-reader")) {
                samplerMayStart.join();
              }
              task.run();
            }))
            .build();
    RunningCommand c;
    long waiter;
    try {
      c = shell.start(
          sh("cat go >/dev/null; (sleep 0.1 & echo $! > bg.pid); exec sleep 1000"),
          OutputListener.discard());
      waiter = awaitOnlyChild(c.pid());
    } finally {
      samplerMayStart.complete(null);
    }
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (!recorded(record, waiter)) {
      assertTrue(System.nanoTime() - deadline < 0, "the first sample never found " + waiter);
      Thread.sleep(20);
    }
    Files.writeString(fifo, "go\n"); // `cat` waits in its open for a writer: this one
    while (!Files.exists(dir.resolve("bg.pid")) || Files.readString(dir.resolve("bg.pid")).isBlank()) {
      assertTrue(System.nanoTime() - deadline < 0, "the orphan was never started");
      Thread.sleep(20);
    }
    long orphan = pid("bg.pid");
    while (!isZombie(orphan)) {
      assertTrue(System.nanoTime() - deadline < 0, "the orphan never ended: " + state(orphan));
      Thread.sleep(20);
    }
    c.cancel();
    c.result().get(30, SECONDS);
    assertTrue(isZombie(orphan), "precondition: the stop did not claim it " + state(orphan));

    long bound = System.nanoTime() + SECONDS.toNanos(30 + ZombieSweeper.AGE_SECONDS);
    while (Files.exists(Path.of("/proc/" + orphan))) {
      assertTrue(System.nanoTime() - bound < 0, "pid " + orphan + " is still there " + state(orphan));
      shell.run(sh("true")); // every command's end is a chance to sweep
      Thread.sleep(200);
    }
  }

  /** Waits until {@code pid} has a child (the script's first), and returns it. */
  private static long awaitOnlyChild(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + SECONDS.toNanos(30);
    while (true) {
      List<ProcessHandle> children =
          ProcessHandle.of(pid).map(p -> p.children().toList()).orElse(List.of());
      if (!children.isEmpty()) {
        assertEquals(1, children.size(), children.toString());
        return children.get(0).pid();
      }
      assertTrue(System.nanoTime() - deadline < 0, "pid " + pid + " never started its child");
      Thread.sleep(5);
    }
  }

  /** Whether a leftovers record in {@code dir} lists {@code pid} among a command's members. */
  private static boolean recorded(Path dir, long pid) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (java.util.stream.Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".procs")).toList()) {
        try {
          if (Files.readAllLines(f).stream().anyMatch(l -> l.startsWith("proc " + pid + " "))) {
            return true;
          }
        } catch (java.nio.file.NoSuchFileException replaced) {
          // Rewritten by rename meanwhile: the next look reads the new one.
        }
      }
    }
    return false;
  }

  private static boolean isZombie(long pid) {
    String stat = state(pid);
    return stat.startsWith(pid + " (") && stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
  }

  private static long sessionOf(long pid) throws IOException {
    return statField(pid, 6);
  }

  private static long parentOf(long pid) throws IOException {
    return statField(pid, 4);
  }

  /** Field {@code n} (1-based, as proc(5) numbers them) of /proc/PID/stat. */
  private static long statField(long pid, int n) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[n - 3]);
  }
}
