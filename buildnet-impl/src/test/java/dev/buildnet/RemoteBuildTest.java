package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.internal.events.BuildSnapshot;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A master embedded in BuildNet dispatching to in-process workers over real sockets. */
class RemoteBuildTest {
  private static final long WAIT = 30;

  @TempDir Path tmp;
  private MasterWorkers cluster;

  @BeforeEach
  void setUp() {
    cluster = new MasterWorkers(tmp, WAIT);
  }

  @AfterEach
  void closeAll() throws Exception {
    cluster.close();
  }

  private static List<Target> graph() {
    return List.of(
        Target.builder("lib").command("sh", "-c", "mkdir -p out/lib && tr a-z A-Z < src/a.txt > out/lib/A.txt && echo lib done")
            .inputs("src/a.txt").outputs("out/lib").requires("remote").build(),
        Target.builder("app").command("sh", "-c", "cat out/lib/A.txt src/b.txt > out/app.txt; echo app warns >&2")
            .inputs("src/b.txt").outputs("out/app.txt").dependsOn("lib").requires("remote").build());
  }

  private Path workspace(String name) throws Exception {
    Path ws = tmp.resolve(name);
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "hello\n");
    Files.writeString(ws.resolve("src/b.txt"), "world\n");
    return ws;
  }

  private BuildNet master(Path ws, List<Target> targets, BuildNet.Builder extra) {
    return cluster.master(extra.workspace(ws).targets(targets).localSlots(0));
  }

  private Worker worker(BuildNet net, String id, String... caps) throws Exception {
    return cluster.worker(net, id, caps);
  }

  private static Map<String, String> files(Path ws, List<String> paths) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (String p : paths) {
      out.put(p, Files.readString(ws.resolve(p)));
    }
    return out;
  }

  @Test
  void aBuildOnTwoWorkersProducesWhatALocalBuildProduces() throws Exception {
    Path remoteWs = workspace("remote");
    List<String> logs = new CopyOnWriteArrayList<>();
    BuildNet net = master(remoteWs, graph(), BuildNet.builder().listener(new BuildListener() {
      @Override
      public void logLine(String b, String t, OutputListener.Stream s, String line, boolean r) {
        logs.add(t + ":" + s + ":" + line);
      }
    }));
    worker(net, "w1", "remote");
    worker(net, "w2", "remote");
    BuildResult remote = net.build("app").get(WAIT, TimeUnit.SECONDS);
    assertTrue(remote.success(), remote.toString());

    Path localWs = workspace("local");
    List<Target> localGraph = new ArrayList<>();
    for (Target t : graph()) {
      localGraph.add(Target.builder(t.name()).command(t.command()).inputs(t.inputs())
          .outputs(t.outputs()).dependsOn(t.dependencies()).build());
    }
    BuildResult local;
    try (BuildNet here = BuildNet.builder().workspace(localWs).targets(localGraph).start()) {
      local = here.build("app").get(WAIT, TimeUnit.SECONDS);
    }
    assertTrue(local.success(), local.toString());
    List<String> outputs = List.of("out/lib/A.txt", "out/app.txt");
    assertEquals(files(localWs, outputs), files(remoteWs, outputs));
    assertEquals("HELLO\nworld\n", Files.readString(remoteWs.resolve("out/app.txt")));
    assertEquals(artifacts(local), artifacts(remote));
    for (TargetOutcome o : remote.targets()) {
      assertEquals(Status.BUILT, o.status(), o.toString());
      assertTrue(o.reason().contains("worker 'w"), o.reason());
    }
    assertTrue(logs.contains("lib:STDOUT:lib done"), logs.toString());
    assertTrue(logs.contains("app:STDERR:app warns"), logs.toString());

    // The second build is served from the cache the workers filled: nothing runs.
    Files.delete(remoteWs.resolve("out/app.txt"));
    BuildResult again = net.build("app").get(WAIT, TimeUnit.SECONDS);
    assertTrue(again.targets().stream().allMatch(t -> t.status() == Status.CACHED), again.toString());
    assertEquals("HELLO\nworld\n", Files.readString(remoteWs.resolve("out/app.txt")));
  }

  @Test
  void aChainOfRemoteTargets_handsEachToTheExecutorOnce_toSettleIt() throws Exception {
    int n = 6;
    List<Target> chain = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Target.Builder b = Target.builder("c" + i).command("true").cacheable(false).requires("remote");
      chain.add(i == 0 ? b.build() : b.dependsOn("c" + (i - 1)).build());
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      java.util.concurrent.atomic.AtomicInteger handOffs = new java.util.concurrent.atomic.AtomicInteger();
      BuildNet net = master(workspace("chain"), chain, BuildNet.builder().executor(task -> {
        handOffs.incrementAndGet();
        pool.execute(task);
      }));
      // The engine's own listener (a dispatch pass for the new worker) runs before this one.
      java.util.concurrent.CountDownLatch joined = new java.util.concurrent.CountDownLatch(1);
      net.master().orElseThrow().dispatcher().onChange(joined::countDown);
      worker(net, "w1", "remote");
      assertTrue(joined.await(WAIT, TimeUnit.SECONDS));
      handOffs.set(0);
      BuildResult r = net.build("c" + (n - 1)).get(WAIT, TimeUnit.SECONDS);
      assertTrue(r.success(), r.toString());
      assertEquals(n, r.count(Status.BUILT));
      // The root is handed to the executor, and each result from the worker once, to be settled
      // off the network thread; that thread then sends the next target itself.
      assertEquals(n + 1, handOffs.get(), "executor hand-offs in a build of a remote chain of " + n);
    } finally {
      pool.shutdownNow();
    }
  }

  private static Map<String, String> artifacts(BuildResult r) {
    Map<String, String> m = new TreeMap<>();
    for (TargetOutcome o : r.targets()) {
      for (Artifact a : o.artifacts()) {
        m.put(a.path(), a.digest() + "/" + a.sizeBytes());
      }
    }
    return m;
  }

  @Test
  void aBundlerTargetRunsOnAWorkerThatHasTheAdapter() throws Exception {
    Path ws = workspace("bundler");
    Target bundle = Target.builder("bundle")
        .bundler("upcase", Map.of(), List.of("src/a.txt"), "dist")
        .inputs("src/a.txt").build();
    BuildNet net = master(ws, List.of(bundle), BuildNet.builder());
    // Only this worker has the adapter, so only it offers bundler:upcase.
    worker(net, "plain", "remote");
    cluster.connect(net, BuildNet.worker().workerId("bundles").cpuSlots(1)
        .memoryMb(512).workDir(tmp.resolve("work-bundles"))
        .bundler(dev.buildnet.bundle.CommandBundlerAdapter.builder("upcase")
            .command(List.of("sh", "-c", "mkdir -p \"$1\" && tr a-z A-Z < \"$2\" > \"$1/a.txt\"",
                "sh", "{outDir}", "{entrypoints}"))
            .version("1").shell(dev.buildnet.api.exec.ShellProvider.processes())
            .hashes(dev.buildnet.api.hash.HashProvider.xxh64()).build()));

    BuildResult r = net.build("bundle").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertTrue(r.targets().get(0).reason().contains("'bundles'"), r.targets().get(0).reason());
    assertEquals("HELLO\n", Files.readString(ws.resolve("dist/a.txt")));
  }

  @Test
  void anAttemptWhoseWorkerGoesAwayRunsAgainOnAnother() throws Exception {
    Path ws = workspace("requeue");
    Path flag = tmp.resolve("first-attempt-started");
    Target slow = Target.builder("slow")
        .command("sh", "-c", "if [ -e \"$FLAG\" ]; then echo second > out.txt; else touch \"$FLAG\"; sleep 60; fi")
        .env("FLAG", flag.toString()).outputs("out.txt").requires("remote").build();
    BuildNet net = master(ws, List.of(slow), BuildNet.builder());
    Worker first = worker(net, "first", "remote");
    CompletableFuture<BuildResult> build = net.build("slow");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!Files.exists(flag)) {
      assertTrue(System.nanoTime() < deadline, "the first attempt never started");
      Thread.sleep(10); // polling a file the attempt creates; there is no event for it
    }
    worker(net, "second", "remote");
    first.close();
    BuildResult r = build.get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    TargetOutcome o = r.targets().get(0);
    assertEquals(2, o.attempts());
    assertTrue(o.reason().contains("'second'"), o.reason());
    assertEquals("second\n", Files.readString(ws.resolve("out.txt")));
  }

  @Test
  void anAttemptRequeuedWithNoWorkerLeftWaitsForTheNextOne() throws Exception {
    Path ws = workspace("requeue-wait");
    Path flag = tmp.resolve("first-attempt-started-2");
    Target slow = Target.builder("slow")
        .command("sh", "-c", "if [ -e \"$FLAG\" ]; then echo second > out.txt; else touch \"$FLAG\"; sleep 60; fi")
        .env("FLAG", flag.toString()).outputs("out.txt").requires("remote").build();
    BuildNet net = master(ws, List.of(slow), BuildNet.builder());
    Worker first = worker(net, "only", "remote");
    BuildFuture build = net.build("slow");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!Files.exists(flag)) {
      assertTrue(System.nanoTime() < deadline, "the first attempt never started");
      Thread.sleep(10); // polling a file the attempt creates; there is no event for it
    }
    first.close();
    while (!net.history().build(build.buildId()).orElseThrow().targets().get(0).status()
        .equals("waiting")) {
      assertFalse(build.isDone(), "the re-queued target failed instead of waiting: "
          + (build.isDone() ? build.getNow(null) : ""));
      assertTrue(System.nanoTime() < deadline, "the re-queued target never waited");
      Thread.sleep(5); // polling the history; the wait has no event of its own
    }
    worker(net, "next", "remote");
    BuildResult r = build.get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals("second\n", Files.readString(ws.resolve("out.txt")));
  }

  @Test
  void aTargetNoWorkerCanRunWaitsVisiblyThenFailsWithAClearError() throws Exception {
    Path ws = workspace("unrunnable");
    Target gpu = Target.builder("train").command("true").requires("gpu").build();
    BuildNet net = master(ws, List.of(gpu), BuildNet.builder().placementTimeout(Duration.ofMillis(600)));
    worker(net, "cpu-only", "remote");
    CompletableFuture<BuildResult> build = net.build("train");
    String id = ((BuildFuture) build).buildId();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    BuildSnapshot.TargetSnapshot t;
    do {
      assertTrue(System.nanoTime() < deadline, "never saw the waiting status");
      Thread.sleep(5); // polling the history; the wait has no event of its own
      t = net.history().build(id).orElseThrow().targets().get(0);
    } while (!t.status().equals("waiting") && !build.isDone());
    assertEquals("waiting", t.status());
    assertTrue(t.note().contains("[gpu]"), t.note());

    BuildResult r = build.get(WAIT, TimeUnit.SECONDS);
    assertFalse(r.success());
    String reason = r.targets().get(0).reason();
    assertTrue(reason.contains("needs capabilities [gpu]"), reason);
    assertTrue(reason.contains("cpu-only"), reason);
    assertTrue(reason.contains("placementTimeout"), reason);
  }

  @Test
  void aWaitingTargetRunsOnceACapableWorkerJoins() throws Exception {
    Path ws = workspace("joins");
    Target t = Target.builder("late").command("sh", "-c", "echo ok > ok.txt").outputs("ok.txt")
        .requires("late-cap").build();
    BuildNet net = master(ws, List.of(t), BuildNet.builder());
    CompletableFuture<BuildResult> build = net.build("late");
    String id = ((BuildFuture) build).buildId();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!net.history().build(id).orElseThrow().targets().get(0).status().equals("waiting")) {
      assertTrue(System.nanoTime() < deadline, "never saw the waiting status");
      Thread.sleep(5); // polling the history; the wait has no event of its own
    }
    worker(net, "capable", "late-cap");
    BuildResult r = build.get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals("ok\n", Files.readString(ws.resolve("ok.txt")));
  }

  @Test
  void cancellingABuildKillsItsRemoteProcessTree() throws Exception {
    Path ws = workspace("cancel");
    Target t = Target.builder("hang").command("sh", "-c", "sleep 60 & echo child $!; wait")
        .requires("remote").build();
    List<String> lines = new CopyOnWriteArrayList<>();
    BuildNet net = master(ws, List.of(t), BuildNet.builder().listener(new BuildListener() {
      @Override
      public void logLine(String b, String tg, OutputListener.Stream s, String line, boolean r) {
        lines.add(line);
      }
    }));
    worker(net, "w", "remote");
    BuildFuture build = net.build("hang");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (lines.stream().noneMatch(l -> l.startsWith("child "))) {
      assertTrue(System.nanoTime() < deadline, "the command never started");
      Thread.sleep(10); // polling for a log line; the test listener has no latch for it
    }
    long child = Long.parseLong(lines.stream().filter(l -> l.startsWith("child ")).findFirst()
        .orElseThrow().substring(6));
    assertTrue(build.cancel(true));
    BuildResult r = build.result().get(WAIT, TimeUnit.SECONDS);
    assertEquals(Status.CANCELLED, r.targets().get(0).status());
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (Pids.isRunning(child)) {
      assertTrue(System.nanoTime() < deadline, "pid " + child + " survived the cancel");
      Thread.sleep(20); // polling a pid; the kill has no event here
    }
  }
}
