package dev.buildnet.cli;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildFuture;
import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.internal.events.BuildSnapshot;
import dev.buildnet.graph.Target;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A master in this JVM and two workers in their own JVMs ({@code buildnet worker}): the build
 * survives a worker killed with SIGKILL mid-target and a worker frozen (SIGSTOP) past its
 * heartbeat timeout.
 */
class DistributedBuildTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";
  private static final long WAIT = 60;

  @TempDir Path dir;
  private final Map<String, Process> workers = new HashMap<>();
  private BuildNet net;

  @AfterEach
  void stop() throws Exception {
    for (Process p : workers.values()) {
      new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor();
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    if (net != null) {
      net.close();
    }
  }

  private Path workspace() throws Exception {
    Path ws = dir.resolve("ws");
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "alpha\n");
    return ws;
  }

  private void startMaster(Path ws, List<Target> targets, Duration heartbeatTimeout) {
    startMaster(TransportSettings.builder(), ws, targets, heartbeatTimeout);
  }

  private void startMaster(TransportSettings.Builder transport, Path ws, List<Target> targets,
      Duration heartbeatTimeout) {
    net = BuildNet.builder().workspace(ws).targets(targets).localSlots(0)
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .transport(transport.secret(SECRET.getBytes(StandardCharsets.UTF_8))
            .heartbeatTimeout(heartbeatTimeout).build())
        .start();
  }

  private void startWorker(String id) throws Exception {
    startWorker(id, List.of());
  }

  private void startWorker(String id, List<String> extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--work-dir", dir.resolve("work-" + id).toString()));
    args.addAll(extra);
    startWorker(id, List.of(), args);
  }

  private void startWorker(String id, List<String> jvmOptions, List<String> extra)
      throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), SECRET);
    InetSocketAddress at = AddOns.master(net).orElseThrow().localAddress();
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of(
        "-cp", System.getProperty("java.class.path"), BuildNetCli.class.getName(), "worker",
        "--master", "127.0.0.1:" + at.getPort(), "--secret-file", secret.toString(),
        "--capabilities", "remote", "--id", id, "--slots", "2"));
    cmd.addAll(extra);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    workers.put(id, p);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = CompletableFuture.supplyAsync(() -> {
      try {
        for (String l; (l = out.readLine()) != null; ) {
          if (l.startsWith("connected to ")) {
            return l;
          }
        }
        return null;
      } catch (java.io.IOException e) {
        return null;
      }
    }).get(WAIT, TimeUnit.SECONDS);
    assertNotNull(line, "worker " + id + " exited without connecting");
    // Keep draining its output so it never blocks on a full pipe.
    CompletableFuture.runAsync(() -> {
      try {
        while (out.readLine() != null) {
          // discard
        }
      } catch (java.io.IOException ignored) {
        // the process ended
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (AddOns.master(net).orElseThrow().workers().stream().noneMatch(w -> w.id().equals(id))) {
      assertTrue(System.nanoTime() < deadline, "worker " + id + " never registered");
      Thread.sleep(10); // polling the registry with a bound
    }
  }

  @Test
  void aWorkerStoppedBySigterm_closesFirst_leavingNoTemporaryWorkDirBehind() throws Exception {
    Path ws = workspace();
    Path flag = dir.resolve("flag");
    startMaster(ws, List.of(hangsOnFirstAttempt(flag)), Duration.ofSeconds(60));
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    startWorker("w-term", List.of("-Djava.io.tmpdir=" + tmp), List.of());
    BuildFuture build = net.buildAll();
    firstAttemptWorker(build, flag); // a sandbox and a running command exist now
    try (var entries = Files.list(tmp)) {
      assertEquals(1, entries.filter(p -> p.getFileName().toString().startsWith("buildnet-worker-"))
          .count(), "the worker made its work directory in java.io.tmpdir");
    }

    Process p = workers.get("w-term");
    p.destroy(); // SIGTERM
    assertTrue(p.waitFor(WAIT, TimeUnit.SECONDS), "the worker did not stop on SIGTERM");

    // The JVM halts once its shutdown hooks return: the hook waits for the worker's close, which
    // deletes the directory it made. Before, it only woke the main thread and the halt cut the
    // close short.
    try (var entries = Files.list(tmp)) {
      assertEquals(List.of(), entries.map(f -> f.getFileName().toString()).toList());
    }
    build.cancel(true);
  }

  /** The target writes "second" on any attempt after the first, which creates FLAG and hangs. */
  private Target hangsOnFirstAttempt(Path flag) {
    return Target.builder("step")
        .command("sh", "-c", "if [ -e \"$FLAG\" ]; then tr a-z A-Z < src/a.txt > out.txt; "
            + "else touch \"$FLAG\"; sleep 120; fi")
        .env("FLAG", flag.toString()).inputs("src/a.txt").outputs("out.txt").requires("remote")
        .build();
  }

  /** Waits for the first attempt to start and returns the worker running it. */
  private String firstAttemptWorker(BuildFuture build, Path flag) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!Files.exists(flag)) {
      assertTrue(System.nanoTime() < deadline, "the first attempt never started");
      Thread.sleep(10); // polling a file the attempt creates
    }
    BuildSnapshot.TargetSnapshot t =
        AddOns.history(net).build(build.buildId()).orElseThrow().targets().get(0);
    assertNotNull(t.worker());
    return t.worker();
  }

  @Test
  void aGraphBuiltOnTwoWorkerProcessesMatchesALocalBuild() throws Exception {
    Path ws = workspace();
    List<Target> graph = List.of(
        Target.builder("upper").command("sh", "-c", "mkdir -p out && tr a-z A-Z < src/a.txt > out/upper.txt")
            .inputs("src/a.txt").outputs("out/upper.txt").requires("remote").build(),
        Target.builder("count").command("sh", "-c", "mkdir -p out && wc -c < src/a.txt > out/count.txt")
            .inputs("src/a.txt").outputs("out/count.txt").requires("remote").build(),
        Target.builder("both").command("sh", "-c", "cat out/upper.txt out/count.txt > out/both.txt")
            .outputs("out/both.txt").dependsOn("upper", "count").requires("remote").build());
    startMaster(ws, graph, Duration.ofSeconds(15));
    startWorker("w1");
    startWorker("w2");
    BuildResult r = net.build("both").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals("ALPHA\n6\n", Files.readString(ws.resolve("out/both.txt")).replace(" ", ""));
    for (TargetOutcome o : r.targets()) {
      assertEquals(TargetOutcome.Status.BUILT, o.status(), o.toString());
    }
  }

  @Test
  void anEsbuildTargetIsBundledOnTheWorkerProcessThatHasEsbuild() throws Exception {
    Path ws = workspace();
    Files.createDirectories(ws.resolve("web/src"));
    Files.writeString(ws.resolve("web/src/main.ts"),
        "import { twice } from './math';\nconsole.log(twice(21));\n");
    Files.writeString(ws.resolve("web/src/math.ts"),
        "export function twice(n: number): number { return n * 2; }\n");
    Target web = Target.builder("web")
        .bundler("esbuild", Map.of("format", "esm"), List.of("src/main.ts"), "web/dist")
        .workingDirectory("web").inputs("web/src/**/*.ts").build();
    startMaster(ws, List.of(web), Duration.ofSeconds(15));
    Path tools = Path.of("..", "buildnet-impl", "src", "test", "node", "node_modules", ".bin")
        .toAbsolutePath().normalize();
    assertTrue(Files.isExecutable(tools.resolve("esbuild")),
        "esbuild is missing at " + tools + ": the buildnet-impl build installs it with npm ci");
    startWorker("no-tools", List.of("--bundlers", "none"));
    startWorker("with-esbuild", List.of("--bundlers", "esbuild", "--tool-path", tools.toString()));

    BuildResult r = net.build("web").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertTrue(r.targets().get(0).reason().contains("'with-esbuild'"), r.targets().get(0).reason());
    String bundle = Files.readString(ws.resolve("web/dist/main.js"));
    assertTrue(bundle.contains("twice(21)") || bundle.contains("* 2"), bundle);
  }

  @Test
  void aWorkerProcessConnectsOverTlsWithTheStoreGivenOnTheCommandLine() throws Exception {
    Path store = dir.resolve("master.p12");
    Process keytool = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
        "-alias", "master", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-keystore", store.toString(),
        "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit")
        .redirectErrorStream(true).start();
    String made = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, made);
    Path password = Files.writeString(dir.resolve("store-password"), "changeit\n");
    TlsOptions options = new TlsOptions();
    options.store = store;
    options.passwordFile = password;

    Path ws = workspace();
    Target upper = Target.builder("upper")
        .command("sh", "-c", "mkdir -p out && tr a-z A-Z < src/a.txt > out/upper.txt")
        .inputs("src/a.txt").outputs("out/upper.txt").requires("remote").build();
    startMaster(TransportSettings.builder().tls(options.context(true)), ws, List.of(upper),
        Duration.ofSeconds(15));
    startWorker("tls-worker", List.of("--tls-store", store.toString(), "--tls-password-file",
        password.toString()));
    BuildResult r = net.build("upper").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals("ALPHA\n", Files.readString(ws.resolve("out/upper.txt")));
  }

  @Test
  void aWorkerKilledMidTargetLosesItToTheOther() throws Exception {
    Path ws = workspace();
    Path flag = dir.resolve("flag");
    startMaster(ws, List.of(hangsOnFirstAttempt(flag)), Duration.ofSeconds(15));
    startWorker("w1");
    startWorker("w2");
    BuildFuture build = net.build("step");
    String first = firstAttemptWorker(build, flag);
    Process victim = workers.get(first);
    new ProcessBuilder("kill", "-KILL", Long.toString(victim.pid())).start().waitFor();

    BuildResult r = build.get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    TargetOutcome o = r.targets().get(0);
    assertEquals(2, o.attempts());
    assertTrue(!o.reason().contains("'" + first + "'"), o.reason());
    assertEquals("ALPHA\n", Files.readString(ws.resolve("out.txt")));
  }

  @Test
  void aWorkerFrozenPastItsHeartbeatTimeoutIsReplacedAndItsAttemptSuperseded() throws Exception {
    Path ws = workspace();
    Path flag = dir.resolve("flag");
    startMaster(ws, List.of(hangsOnFirstAttempt(flag)), Duration.ofMillis(1500));
    startWorker("w1");
    startWorker("w2");
    BuildFuture build = net.build("step");
    String first = firstAttemptWorker(build, flag);
    Process frozen = workers.get(first);
    new ProcessBuilder("kill", "-STOP", Long.toString(frozen.pid())).start().waitFor();

    BuildResult r = build.get(WAIT, TimeUnit.SECONDS);
    new ProcessBuilder("kill", "-CONT", Long.toString(frozen.pid())).start().waitFor();
    assertTrue(r.success(), r.toString());
    TargetOutcome o = r.targets().get(0);
    // At least the superseded attempt and one more: under a heavy load the healthy worker can miss
    // a 1.5 s heartbeat too, and its attempt is then re-queued once more.
    assertTrue(o.attempts() >= 2, o.toString());
    assertTrue(!o.reason().contains("'" + first + "'"), o.reason());
    assertEquals("ALPHA\n", Files.readString(ws.resolve("out.txt")));
    // The thawed worker comes back as a new connection; its old attempt can never count.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (AddOns.master(net).orElseThrow().workers().stream().noneMatch(w -> w.id().equals(first))) {
      assertTrue(System.nanoTime() < deadline, "the frozen worker never reconnected");
      Thread.sleep(20); // polling the registry with a bound
    }
    assertEquals(0, AddOns.master(net).orElseThrow().dispatcher().inFlight());
  }
}
