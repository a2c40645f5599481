package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import dev.buildnet.cli.LauncherRuns.Result;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution's launcher ({@code target/dist/bin/buildnet}) and the warm daemon it starts, as
 * real processes: builds go through one daemon, {@code --no-daemon} builds in the launcher's own
 * JVM, a wrong token is refused, a stale state file is recovered from, a killed client cancels its
 * build and leaves no process behind, {@code daemon stop} stops the daemon and what it runs, a
 * failing build prints and exits through the daemon exactly as in-process, and so does a build after
 * {@code clean --cache} or {@code gc} emptied the cache from another process.
 */
class DaemonIT {
  private static final long DEADLINE_SECONDS = 120;

  @TempDir Path tmp;
  Path ws;
  Path daemonDir;

  @BeforeEach
  void workspace() throws Exception {
    ws = Files.createDirectories(tmp.resolve("ws")).toRealPath();
    daemonDir = tmp.resolve("daemon");
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "hello\n");
    // "who" runs on every build (not cacheable) and records its parent: the JVM that ran it.
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {
          "copy": {"command": ["cp", "src/a.txt", "out/a.txt"],
                   "inputs": ["src/a.txt"], "outputs": ["out/a.txt"]},
          "who": {"command": ["sh", "-c", "echo $PPID > who.txt"], "cacheable": false,
                  "deps": ["copy"]}}}
        """);
  }

  @AfterEach
  void stopDaemon() throws Exception {
    run(List.of("daemon", "stop", "-w", ws.toString()));
    // Should `daemon stop` itself be broken, still leave nothing running.
    stateFile().flatMap(s -> ProcessHandle.of(s.pid())).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Test
  void twoBuilds_goThroughOneDaemon_andTheSecondIsACacheHit() throws Exception {
    Result first = run(List.of("build"));
    assertEquals(0, first.code(), first.all());
    assertTrue(first.out().contains("built 2, cached 0, failed 0"), first.all());
    long daemon = stateFile().orElseThrow().pid();
    assertNotEquals(first.pid(), daemon, "the build ran in the daemon, not in the launcher");
    assertEquals(daemon, whoRan());
    // The launcher's memory flags for the daemon (see bin/buildnet's start_daemon).
    List<String> jvmArgs = List.of(ProcessHandle.of(daemon).orElseThrow().info().arguments()
        .orElseThrow());
    for (String flag : List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms16m",
        "-XX:MaxNewSize=8m", "-XX:MinHeapFreeRatio=20", "-XX:MaxHeapFreeRatio=40", "-XX:-ShrinkHeapInSteps")) {
      assertTrue(jvmArgs.contains(flag), flag + " in " + jvmArgs);
    }
    assertTrue(Files.isRegularFile(daemonDir.resolve(
        DaemonFiles.name(ws) + ".log")), "the daemon logs next to its state file");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(daemonDir)));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        daemonDir.resolve(DaemonFiles.name(ws) + DaemonFiles.SUFFIX))));

    Result second = run(List.of("build"));
    assertEquals(0, second.code(), second.all());
    assertTrue(second.out().contains("built 1, cached 1, failed 0"), second.all());
    assertEquals(daemon, stateFile().orElseThrow().pid(), "the same daemon");
    assertEquals(daemon, whoRan(), "the second build ran in the same daemon");

    Result status = run(List.of("daemon", "status"));
    assertEquals(0, status.code(), status.all());
    assertTrue(status.out().startsWith("daemon " + daemon + " "), status.all());
  }

  @Test
  void version_isAnsweredByTheLauncherWithoutAJvm_andMatchesTheJars() throws Exception {
    // With JAVA pointing at /bin/false, any path that starts a JVM would fail with no output.
    Result launcher = run(List.of("--version"), Map.of("JAVA", "/bin/false"));
    assertEquals(0, launcher.code(), launcher.all());
    assertTrue(launcher.out().matches("buildnet \\S+\n"), launcher.all());
    // The same line from the jar itself: the launcher's copy of the version is not stale.
    String launcherPath = System.getProperty("buildnet.launcher");
    Path jar = Path.of(launcherPath).getParent().getParent().resolve("lib").resolve("buildnet.jar");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString(), "--version").redirectErrorStream(true).start();
    String fromJar = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(p.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS), "java -jar --version did not exit");
    assertEquals(fromJar, launcher.out());
  }

  @Test
  void noDaemon_buildsInTheLaunchersOwnJvm() throws Exception {
    Result r = run(List.of("build", "--no-daemon"));
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("built 2, cached 0, failed 0"), r.all());
    assertEquals(r.pid(), whoRan(), "the launcher execs java, which ran the build");
    assertTrue(stateFile().isEmpty(), "no daemon was started");

    Result env = run(List.of("build"), Map.of("BUILDNET_NO_DAEMON", "1"));
    assertEquals(0, env.code(), env.all());
    assertEquals(env.pid(), whoRan());
    assertTrue(stateFile().isEmpty(), "no daemon was started");
  }

  @Test
  void aWrongToken_isRefusedWithOneLine() throws Exception {
    assertEquals(0, run(List.of("build")).code());
    DaemonFiles.State s = stateFile().orElseThrow();
    String wrong = "0".repeat(s.token().length());
    assertEquals("error: wrong token for this buildnet daemon\n",
        ask(s.port(), Daemon.MAGIC + "\0" + wrong + "\0status\0"));
    assertTrue(ask(s.port(), Daemon.MAGIC + "\0" + s.token() + "\0status\0")
        .startsWith("1|daemon " + s.pid() + " "), "the right token is served");
    assertTrue(ProcessHandle.of(s.pid()).map(ProcessHandle::isAlive).orElse(false));
  }

  @Test
  void aStaleStateFile_isReplacedByANewDaemon() throws Exception {
    // A daemon that is gone: a pid that has exited, a port nobody listens on.
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    Files.createDirectories(daemonDir, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    DaemonFiles.write(daemonDir.resolve(DaemonFiles.name(ws) + DaemonFiles.SUFFIX),
        new DaemonFiles.State(closedPort, "ab".repeat(24), gone.pid(), "1-2-3-4"));

    Result r = run(List.of("build"));
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("built 2, cached 0, failed 0"), r.all());
    DaemonFiles.State now = stateFile().orElseThrow();
    assertNotEquals(gone.pid(), now.pid());
    assertEquals(now.pid(), whoRan(), "the new daemon ran the build");
  }

  @Test
  void aNewJar_replacesTheDaemonOfTheOldOne() throws Exception {
    Path jar = tmp.resolve("lib/buildnet.jar");
    Files.createDirectories(jar.getParent());
    Files.copy(Path.of(System.getProperty("buildnet.launcher")).resolveSibling("../lib/buildnet.jar"),
        jar);
    Map<String, String> env = Map.of("BUILDNET_JAR", jar.toString());
    assertEquals(0, run(List.of("build"), env).code());
    ProcessHandle old = ProcessHandle.of(stateFile().orElseThrow().pid()).orElseThrow();

    // An upgrade: another jar at the same place (here the same bytes with another mtime).
    Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(
        Files.getLastModifiedTime(jar).toMillis() - 3_600_000));
    Result r = run(List.of("build"), env);
    assertEquals(0, r.code(), r.all());
    long now = stateFile().orElseThrow().pid();
    assertNotEquals(old.pid(), now);
    assertEquals(now, whoRan(), "the new daemon ran the build");
    await(() -> !old.isAlive(), "the old daemon stopped");
  }

  @Test
  void anIdleDaemon_stopsByItself() throws Exception {
    Result r = run(List.of("build"), Map.of("BUILDNET_DAEMON_IDLE_TIMEOUT", "1s"));
    assertEquals(0, r.code(), r.all());
    Optional<ProcessHandle> daemon = ProcessHandle.of(whoRan()); // empty: stopped already
    await(() -> daemon.map(p -> !p.isAlive()).orElse(true), "the idle daemon stopped");
    assertTrue(stateFile().isEmpty(), "and removed its state file");
  }

  @Test
  void killingTheClient_cancelsItsBuild_andLeavesNoProcess() throws Exception {
    slowWorkspace();
    for (boolean forcibly : new boolean[] {false, true}) {
      Files.deleteIfExists(ws.resolve("pids.txt"));
      Process client = launcher(List.of("build")).start();
      List<ProcessHandle> started = awaitStarted();
      if (forcibly) {
        client.destroyForcibly(); // SIGKILL: the kernel closes the connection
      } else {
        client.destroy(); // SIGTERM: the launcher exits 143
      }
      assertTrue(client.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS));
      assertEquals(forcibly ? 137 : 143, client.exitValue());
      for (ProcessHandle p : started) {
        await(() -> !p.isAlive(), "the build's process " + p.pid() + " was killed");
      }
      long daemon = stateFile().orElseThrow().pid();
      assertTrue(ProcessHandle.of(daemon).map(ProcessHandle::isAlive).orElse(false),
          "the daemon lives on");
    }
  }

  @Test
  void aSecondBuildOfTheWorkspace_meetsTheLockAsASecondProcessDoes() throws Exception {
    slowWorkspace();
    Process first = launcher(List.of("build")).start();
    awaitStarted();
    long daemon = stateFile().orElseThrow().pid();
    Result viaDaemon = run(List.of("build", "--no-wait"));
    Result inProcess = run(List.of("build", "--no-wait", "--no-daemon"));
    assertEquals(2, viaDaemon.code(), viaDaemon.all());
    assertEquals(inProcess.code(), viaDaemon.code());
    assertEquals(inProcess.out(), viaDaemon.out());
    assertEquals(inProcess.err(), viaDaemon.err());
    assertTrue(viaDaemon.err().contains("the build of process " + daemon), viaDaemon.all());
    first.destroy();
    assertTrue(first.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS));
  }

  @Test
  void daemonStop_stopsTheDaemonAndTheProcessesOfItsBuilds() throws Exception {
    slowWorkspace();
    Process client = launcher(List.of("build")).start();
    List<ProcessHandle> started = awaitStarted();
    ProcessHandle daemon = ProcessHandle.of(stateFile().orElseThrow().pid()).orElseThrow();

    Result stop = run(List.of("daemon", "stop"));
    assertEquals(0, stop.code(), stop.all());
    assertEquals("stopped daemon " + daemon.pid() + "\n", stop.out());
    assertFalse(daemon.isAlive());
    for (ProcessHandle p : started) {
      await(() -> !p.isAlive(), "the build's process " + p.pid() + " was killed");
    }
    assertTrue(client.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS));
    assertNotEquals(0, client.exitValue(), "a cancelled build does not succeed");
    assertTrue(stateFile().isEmpty(), "the daemon removed its state file");
    Result status = run(List.of("daemon", "status"));
    assertEquals(1, status.code());
    assertEquals("no daemon for " + ws + "\n", status.out());
  }

  @Test
  void aFailingBuild_printsAndExitsAsInProcess() throws Exception {
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {
          "ok": {"command": ["cp", "src/a.txt", "out/a.txt"],
                 "inputs": ["src/a.txt"], "outputs": ["out/a.txt"]},
          "bad": {"command": ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"],
                  "inputs": ["src/a.txt"], "deps": ["ok"]},
          "after": {"command": ["true"], "deps": ["bad"]}}}
        """);
    assertEquals(1, run(List.of("build", "--no-daemon")).code()); // "ok" is cached from now on
    for (List<String> args : List.of(List.of("build"), List.of("build", "-k", "--logs"),
        List.of("build", "nope"), List.of("build", "--bogus"), List.of("build", "--json"),
        List.of("build", "-w", "no/such/dir"))) {
      List<String> inProcess = new ArrayList<>(args);
      inProcess.add("--no-daemon");
      Result expected = run(inProcess);
      Result daemon = run(args);
      assertTrue(stateFile().isPresent(), "a daemon ran " + args);
      assertEquals(expected.code(), daemon.code(), args + ": " + daemon.all());
      // With --logs a target's stdout and stderr lines interleave as their pipes are read, in
      // either order in-process too: compare the lines, not their order.
      boolean anyOrder = args.contains("--logs");
      assertEquals(normalized(expected.out(), anyOrder), normalized(daemon.out(), anyOrder),
          args.toString());
      assertEquals(normalized(expected.err(), anyOrder), normalized(daemon.err(), anyOrder),
          args.toString());
    }
    Result r = run(List.of("build"));
    assertEquals(1, r.code());
    assertTrue(r.out().contains("'bad' exited with 3:\nto-err\n"), r.all()); // as in-process
  }

  @Test
  void cleanCache_beforeAWarmDaemonsBuild_makesItRunTheTargetAsInProcess() throws Exception {
    emptyTheCacheBetweenBuilds(List.of("clean", "--cache"));
  }

  @Test
  void gcEvictingEverything_beforeAWarmDaemonsBuild_makesItRunTheTargetAsInProcess()
      throws Exception {
    emptyTheCacheBetweenBuilds(List.of("gc", "--max-bytes", "0"));
  }

  /**
   * README: through the daemon "the output, the exit code and what is built are the same as
   * in-process". {@code emptying} runs in a JVM of its own (only builds go to the daemon); an
   * in-process build after it finds no record and runs the target, and so must the daemon's, not
   * report it cached from the cache it remembers (which would also leave the cache empty).
   */
  private void emptyTheCacheBetweenBuilds(List<String> emptying) throws Exception {
    Result first = run(List.of("build", "copy"));
    assertEquals(0, first.code(), first.all());
    long daemon = stateFile().orElseThrow().pid();

    Result emptied = run(emptying);
    assertEquals(0, emptied.code(), emptied.all());
    assertEquals("", emptied.err(), emptied.all());
    Result after = run(List.of("build", "copy"));

    assertEquals(0, after.code(), after.all());
    assertEquals(daemon, stateFile().orElseThrow().pid(), "the same daemon built it");
    assertTrue(after.out().contains("built 1, cached 0, failed 0"), after.all());
    Result again = run(List.of("build", "copy"));
    assertTrue(again.out().contains("built 0, cached 1, failed 0"), "recorded anew: " + again.all());
  }

  /** Durations and build ids differ from run to run. */
  private static String normalized(String text, boolean anyOrder) {
    String n = normalized(text);
    return anyOrder ? n.lines().sorted().collect(java.util.stream.Collectors.joining("\n")) : n;
  }

  private static String normalized(String text) {
    return text.replaceAll("\\d+(\\.\\d+)? (ms|s)\\b", "T")
        .replaceAll("\"(buildId|startedAt|finishedAt|durationMs|cpuMs|peakRssKb|[a-zA-Z]*Ms)\""
            + "\\s*:\\s*(\"[^\"]*\"|[0-9.]+)", "\"$1\":X");
  }

  /**
   * Regression (found by bench/real-jmh.sh): bash reads a socket one byte per read(2) for a line,
   * so the launcher took a system call per byte of a reply: 2 s for the 600 KB {@code --json}
   * document of a 24-target build, 0.2 s without {@code --json}. The daemon now sends text in
   * counted blocks, which {@code read -N} takes in buffers. The launcher's read calls are counted
   * by the kernel (/proc/PID/io of the shell that reaped it), not timed.
   */
  @Test
  void aLargeJsonDocument_reachesTheClientIntact_inFarFewerReadsThanBytes() throws Exception {
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {
          "many": {"command": ["sh", "-c",
            "mkdir -p out/many && cd out/many && i=0 && while [ $i -lt 2000 ]; do i=$((i+1)); echo $i > f$i-é.txt; done"],
            "outputs": ["out/many"]}}}
        """);
    assertEquals(0, run(List.of("build")).code(), "the first build starts the daemon");
    ProcessBuilder pb = launcher(List.of("build", "--json"));
    List<String> command = new ArrayList<>(List.of("sh", "-c",
        "\"$0\" \"$@\"; code=$?; grep '^syscr:' /proc/$$/io >&2; exit $code"));
    command.addAll(pb.command());
    pb.command(command);
    Result r = LauncherRuns.run(pb, tmp, DEADLINE_SECONDS);
    assertEquals(0, r.code(), r.all());
    assertTrue(stateFile().isPresent(), "the build went through the daemon");
    for (int i = 1; i <= 2000; i++) {
      assertTrue(r.out().contains("\"out/many/f" + i + "-é.txt\""), "output " + i + ": " + r.all());
    }
    assertTrue(r.out().endsWith("}\n"), r.out());
    int bytes = r.out().getBytes(StandardCharsets.UTF_8).length;
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("syscr: (\\d+)").matcher(r.err());
    assertTrue(m.find(), r.all());
    long reads = Long.parseLong(m.group(1));
    assertTrue(bytes > 100_000, "a large document: " + bytes + " bytes");
    assertTrue(reads < bytes / 20, reads + " read calls for " + bytes + " bytes of output");
  }

  private void slowWorkspace() throws Exception {
    // Records its own pid and a background child's, then waits: only a cancel ends it.
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {
          "slow": {"command": ["sh", "-c",
            "sleep 600 & echo $$ $! > pids.tmp && mv pids.tmp pids.txt; wait"],
            "cacheable": false}}}
        """);
  }

  private List<ProcessHandle> awaitStarted() throws Exception {
    Path pids = ws.resolve("pids.txt");
    await(() -> Files.exists(pids), "the slow target started");
    List<ProcessHandle> started = new ArrayList<>();
    for (String pid : Files.readString(pids).trim().split(" ")) {
      ProcessHandle.of(Long.parseLong(pid)).ifPresent(started::add);
    }
    return started;
  }

  private long whoRan() throws Exception {
    return Long.parseLong(Files.readString(ws.resolve("who.txt")).trim());
  }

  private Optional<DaemonFiles.State> stateFile() throws Exception {
    return DaemonFiles.read(daemonDir.resolve(DaemonFiles.name(ws) + DaemonFiles.SUFFIX))
        .filter(s -> ProcessHandle.of(s.pid()).map(ProcessHandle::isAlive).orElse(false));
  }

  private static String ask(int port, String request) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS));
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      in.transferTo(b);
      return b.toString(StandardCharsets.UTF_8);
    }
  }

  private static void await(BooleanSupplier condition, String what) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, "timed out waiting: " + what);
      Thread.sleep(50);
    }
  }

  private ProcessBuilder launcher(List<String> args) {
    return LauncherRuns.launcher(ws, daemonDir, tmp, args);
  }

  private Result run(List<String> args) throws Exception {
    return run(args, Map.of());
  }

  private Result run(List<String> args, Map<String, String> extraEnv) throws Exception {
    ProcessBuilder pb = launcher(args);
    pb.environment().putAll(extraEnv);
    return LauncherRuns.run(pb, tmp, DEADLINE_SECONDS);
  }
}
