package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuildNetTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path ws;
  private final List<BuildNet> opened = new ArrayList<>();

  @AfterEach
  void closeAll() {
    opened.forEach(BuildNet::close);
  }

  /** A target that runs a bash script with PATH passed through, and logs each run. */
  static Target.Builder script(String name, String script) {
    return Target.builder(name)
        .command("bash", "-c", "echo " + name + " >> runs.log; " + script)
        .envPassthrough("PATH");
  }

  private BuildNet start(List<Target> targets) {
    return start(BuildNet.builder().workspace(ws).targets(targets).localSlots(2));
  }

  private BuildNet start(BuildNet.Builder builder) {
    BuildNet net = builder.start();
    opened.add(net);
    return net;
  }

  private BuildResult build(BuildNet net, String... targets) throws Exception {
    return net.build(targets).get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private List<String> runs() throws IOException {
    Path log = ws.resolve("runs.log");
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  private void write(String rel, String content) throws IOException {
    Path p = ws.resolve(rel);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }

  private List<Target> chain() throws IOException {
    write("src/a.txt", "alpha");
    return List.of(
        script("a", "mkdir -p out && tr a-z A-Z < src/a.txt > out/a.txt")
            .inputs("src/a.txt").outputs("out/a.txt").build(),
        script("b", "cat out/a.txt out/a.txt > out/b.txt")
            .inputs("out/a.txt").outputs("out/b.txt").dependsOn("a").build());
  }

  @Test
  void buildsInDependencyOrderThenServesEverythingFromTheCache() throws Exception {
    BuildNet net = start(chain());
    BuildResult first = build(net, "b");
    assertTrue(first.success(), first.errors().toString());
    assertEquals(List.of("a", "b"), runs());
    assertEquals("ALPHAALPHA", Files.readString(ws.resolve("out/b.txt")));
    assertEquals(List.of(Status.BUILT, Status.BUILT),
        first.targets().stream().map(TargetOutcome::status).toList());

    BuildResult second = build(net, "b");
    assertTrue(second.success());
    assertEquals(2, second.count(Status.CACHED));
    assertEquals(List.of("a", "b"), runs(), "nothing ran the second time");
    assertEquals(2, second.metrics().cache().hits());
    assertEquals(1.0, second.metrics().cache().hitRatio());
  }

  @Test
  void aNewInstanceOnTheSameWorkspaceReusesTheCache() throws Exception {
    List<Target> targets = chain();
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets).start()) {
      assertTrue(build(net, "b").success());
    }
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets).start()) {
      assertEquals(2, build(net, "b").count(Status.CACHED));
    }
    assertEquals(List.of("a", "b"), runs());
  }

  @Test
  void changingAnInputRebuildsItsTargetAndDependentsAndExplainSaysWhy() throws Exception {
    BuildNet net = start(chain());
    build(net, "b");
    write("src/a.txt", "beta");
    BuildResult r = build(net, "b");
    assertEquals(2, r.count(Status.BUILT));
    assertEquals("BETABETA", Files.readString(ws.resolve("out/b.txt")));
    Explanation a = net.explain("a");
    assertFalse(a.cached());
    assertTrue(a.reasons().stream().anyMatch(s -> s.contains("src/a.txt")), a.toString());
    Explanation b = net.explain("b");
    assertTrue(b.reasons().stream().anyMatch(s -> s.contains("dependency a")), b.toString());
  }

  @Test
  void buildingASubsetRunsExactlyItAndItsDependencies() throws Exception {
    List<Target> targets = new ArrayList<>(chain());
    targets.add(script("c", "echo c > c.txt").outputs("c.txt").build());
    BuildNet net = start(targets);
    BuildResult r = build(net, "a");
    assertEquals(List.of("a"), r.targets().stream().map(TargetOutcome::target).toList());
    assertEquals(List.of("a"), runs());
  }

  @Test
  void aCacheHitRestoresDeletedOutputsAndReplaysTheLog() throws Exception {
    write("in.txt", "x");
    BuildNet net = start(List.of(
        script("t", "echo compiling the thing; cp in.txt out.txt").inputs("in.txt")
            .outputs("out.txt").build()));
    build(net, "t");
    Files.delete(ws.resolve("out.txt"));
    List<String> replayed = new CopyOnWriteArrayList<>();
    net.addListener(new BuildListener() {
      @Override
      public void logLine(String id, String target, OutputListener.Stream s, String line,
          boolean fromCache) {
        if (fromCache) {
          replayed.add(line);
        }
      }
    });
    BuildResult r = build(net, "t");
    assertEquals(Status.CACHED, r.target("t").orElseThrow().status());
    assertEquals("x", Files.readString(ws.resolve("out.txt")));
    assertEquals(List.of("compiling the thing"), replayed);
  }

  @Test
  void aListenerOverridingOnEvent_getsEveryEventOfABuildAsOneTypeWithItsOutcomeAndResult()
      throws Exception {
    BuildNet net = start(List.of(script("lib", "echo hi").build(),
        script("app", "true").dependsOn("lib").build()));
    List<BuildEvent> events = new CopyOnWriteArrayList<>();
    CountDownLatch finished = new CountDownLatch(1);
    net.addListener(new BuildListener() {
      @Override
      public void onEvent(BuildEvent e) {
        events.add(e);
        if (e instanceof BuildEvent.BuildFinished) {
          finished.countDown();
        }
      }
    });
    BuildResult r = build(net, "app");
    assertTrue(finished.await(30, TimeUnit.SECONDS), "no build_finished event");
    List<String> seen = new ArrayList<>();
    for (BuildEvent e : events) {
      assertEquals(r.buildId(), e.buildId());
      seen.add(e.kind().wireName() + (e instanceof BuildEvent.TargetStarted t ? " " + t.target()
          + " " + t.attempt() : e instanceof BuildEvent.TargetLog l ? " " + l.line()
          : e instanceof BuildEvent.TargetFinished f ? " " + f.target() + " "
              + f.status().wireName() : ""));
    }
    assertEquals(List.of("build_started", "target_started lib 1", "log hi", "target_finished lib built",
        "target_started app 1", "target_finished app built", "build_finished"), seen);
    assertEquals(List.of("lib", "app"), ((BuildEvent.BuildStarted) events.get(0)).targets());
    assertEquals(r.target("lib").orElseThrow(), ((BuildEvent.TargetFinished) events.get(3)).outcome());
    BuildEvent.BuildFinished end = (BuildEvent.BuildFinished) events.get(events.size() - 1);
    assertEquals(List.of(BuildStatus.SUCCEEDED, r), List.of(end.status(), end.result()));
  }

  @Test
  void buildsRecordTheTargetsAskedFor_andTheHostsOrigin_apiUnlessTheBuilderSaysOtherwise()
      throws Exception {
    BuildNet api = start(List.of(script("lib", "true").build(),
        script("app", "true").dependsOn("lib").build()));
    BuildResult r = build(api, "app");
    dev.buildnet.internal.events.BuildSnapshot s = api.history().build(r.buildId()).orElseThrow();
    assertEquals(List.of("app"), s.requested());
    assertEquals(BuildOrigin.api(), s.origin());
    BuildResult viaHttp = api.build(List.of("lib"), false,
        BuildOrigin.http(null, "127.0.0.1:4000")).get(30, TimeUnit.SECONDS);
    assertEquals("http 127.0.0.1:4000",
        api.history().build(viaHttp.buildId()).orElseThrow().origin().toString());
    api.close();

    BuildNet.Builder b = BuildNet.builder().workspace(ws).origin(BuildOrigin.cli("alice"))
        .targets(List.of(script("lib", "true").build()));
    assertThrows(IllegalStateException.class, () -> b.origin(BuildOrigin.api()));
    BuildNet cli = start(b);
    BuildResult c = build(cli, "lib");
    assertEquals("cli alice", cli.history().build(c.buildId()).orElseThrow().origin().toString());
  }

  @Test
  void aCorruptBlobIsAMissAndTheTargetRunsAgain() throws Exception {
    write("in.txt", "payload");
    BuildNet net = start(List.of(
        script("t", "cp in.txt out.txt").inputs("in.txt").outputs("out.txt").build()));
    build(net, "t");
    try (Stream<Path> blobs = Files.walk(ws.resolve(".buildnet/cas/xxh64"))) {
      for (Path p : (Iterable<Path>) blobs.filter(Files::isRegularFile)::iterator) {
        Files.writeString(p, "garbage");
      }
    }
    Files.delete(ws.resolve("out.txt"));
    BuildResult r = build(net, "t");
    assertEquals(Status.BUILT, r.target("t").orElseThrow().status());
    assertEquals("payload", Files.readString(ws.resolve("out.txt")));
    assertEquals(List.of("t", "t"), runs());
  }

  @Test
  void aBlobDeletedBehindTheCachesBackAfterItWasSeen_isAMissAndTheTargetRunsAgain()
      throws Exception {
    write("in.txt", "payload");
    BuildNet net = start(List.of(
        script("t", "cp in.txt out.txt").inputs("in.txt").outputs("out.txt").build()));
    build(net, "t");
    assertEquals(Status.CACHED, build(net, "t").target("t").orElseThrow().status());
    // The store's presence index now holds the blobs; they vanish behind its back (another
    // process's gc, rm), and the output has to be restored.
    try (Stream<Path> blobs = Files.walk(ws.resolve(".buildnet/cas/xxh64"))) {
      for (Path p : (Iterable<Path>) blobs.filter(Files::isRegularFile)::iterator) {
        Files.delete(p);
      }
    }
    Files.delete(ws.resolve("out.txt"));
    BuildResult r = build(net, "t");
    assertEquals(Status.BUILT, r.target("t").orElseThrow().status(), r.toString());
    assertEquals("payload", Files.readString(ws.resolve("out.txt")));
    assertEquals(List.of("t", "t"), runs());
    Files.delete(ws.resolve("out.txt"));
    assertEquals(Status.CACHED, build(net, "t").target("t").orElseThrow().status(),
        "the run stored its outputs again");
    assertEquals("payload", Files.readString(ws.resolve("out.txt")));
  }

  @Test
  void aFailureSkipsDependentsAndStopsTheBuild() throws Exception {
    BuildNet net = start(BuildNet.builder().workspace(ws).localSlots(1).targets(List.of(
        script("bad", "echo broken >&2; exit 3").priority(10).build(),
        script("after", "true").dependsOn("bad").build(),
        script("independent", "true").build())));
    BuildResult r = net.buildAll().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertFalse(r.success());
    TargetOutcome bad = r.target("bad").orElseThrow();
    assertEquals(Status.FAILED, bad.status());
    assertEquals(3, bad.exitCode());
    assertTrue(bad.errors().get(0).message().contains("broken"), bad.errors().toString());
    TargetOutcome after = r.target("after").orElseThrow();
    assertEquals(Status.SKIPPED, after.status());
    assertTrue(after.reason().contains("'bad' failed"), after.reason());
    assertEquals(Status.SKIPPED, r.target("independent").orElseThrow().status());
    assertEquals(List.of("bad"), runs());
  }

  @Test
  void keepGoingRunsIndependentTargetsAfterAFailure() throws Exception {
    BuildNet net = start(BuildNet.builder().workspace(ws).localSlots(1).keepGoing(true)
        .targets(List.of(
            script("bad", "exit 1").priority(10).build(),
            script("after", "true").dependsOn("bad").build(),
            script("independent", "true").build())));
    BuildResult r = net.buildAll().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(Status.FAILED, r.target("bad").orElseThrow().status());
    assertEquals(Status.SKIPPED, r.target("after").orElseThrow().status());
    assertEquals(Status.BUILT, r.target("independent").orElseThrow().status());
  }

  @Test
  void aRetryableTargetSucceedsOnALaterAttempt() throws Exception {
    BuildNet net = start(BuildNet.builder().workspace(ws).retryBackoff(Duration.ofMillis(1))
        .targets(List.of(script("flaky",
            "if [ -f tried ]; then echo ok > out.txt; else touch tried; exit 7; fi")
            .outputs("out.txt").retries(2).build())));
    TargetOutcome o = build(net, "flaky").target("flaky").orElseThrow();
    assertEquals(Status.BUILT, o.status());
    assertEquals(2, o.attempts());
  }

  @Test
  void theCommandSeesExactlyTheListedEnvironmentAndItIsPartOfTheKey() throws Exception {
    Target.Builder t = Target.builder("env").command("bash", "-c", "env > env.txt")
        .env("GREETING", "hello").outputs("env.txt");
    BuildNet net = start(List.of(t.build()));
    build(net, "env");
    List<String> lines = Files.readAllLines(ws.resolve("env.txt"));
    assertTrue(lines.contains("GREETING=hello"), lines.toString());
    assertFalse(lines.stream().anyMatch(l -> l.startsWith("HOME=")), "host HOME leaked: " + lines);
    net.close();

    BuildNet changed = start(List.of(Target.builder("env").command("bash", "-c", "env > env.txt")
        .env("GREETING", "bonjour").outputs("env.txt").build()));
    assertEquals(Status.BUILT, build(changed, "env").target("env").orElseThrow().status());
    assertTrue(changed.explain("env").reasons().stream().anyMatch(s -> s.contains("GREETING")));
  }

  @Test
  void aTimeoutFailsTheTargetAndKillsItsWholeProcessTree() throws Exception {
    BuildNet net = start(List.of(script("slow",
        "sleep 60 & echo $! > child.pid; bash -c 'sleep 60' & echo $! > grandparent.pid; sleep 60")
        .timeout(Duration.ofMillis(1500)).build()));
    TargetOutcome o = build(net, "slow").target("slow").orElseThrow();
    assertEquals(Status.FAILED, o.status());
    assertEquals("TIMEOUT", o.errors().get(0).code());
    for (String f : List.of("child.pid", "grandparent.pid")) {
      long pid = Long.parseLong(Files.readString(ws.resolve(f)).strip());
      assertFalse(Pids.isRunning(pid), f + " " + pid + " survived the timeout");
    }
  }

  @Test
  void cancellingABuildKillsRunningWorkAndSettlesEveryTarget() throws Exception {
    CountDownLatch running = new CountDownLatch(1);
    BuildNet net = start(BuildNet.builder().workspace(ws).targets(List.of(
            script("long", "sleep 60 & echo $! > child.pid; echo started; wait").build(),
            script("next", "true").dependsOn("long").build()))
        .listener(new BuildListener() {
          @Override
          public void logLine(String id, String target, OutputListener.Stream s, String line,
              boolean replayed) {
            if (line.equals("started")) {
              running.countDown();
            }
          }
        }));
    BuildFuture f = net.build("next");
    assertTrue(running.await(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertTrue(f.cancel(true));
    BuildResult r = f.result().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(Status.CANCELLED, r.target("long").orElseThrow().status());
    assertEquals(Status.SKIPPED, r.target("next").orElseThrow().status());
    long pid = Long.parseLong(Files.readString(ws.resolve("child.pid")).strip());
    assertFalse(Pids.isRunning(pid), "pid " + pid + " survived the cancel");
  }

  @Test
  void concurrentBuildsOfTheSameTargetRunItOnce() throws Exception {
    write("in.txt", "once");
    BuildNet net = start(List.of(
        script("t", "sleep 0.3; cp in.txt out.txt").inputs("in.txt").outputs("out.txt").build()));
    BuildFuture one = net.build("t");
    BuildFuture two = net.build("t");
    BuildResult r1 = one.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    BuildResult r2 = two.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertTrue(r1.success() && r2.success());
    assertEquals(List.of("t"), runs());
    assertEquals(1, r1.count(Status.CACHED) + r2.count(Status.CACHED));
  }

  @Test
  void aMissingDeclaredInputFailsTheTargetWithItsPath() throws Exception {
    BuildNet net = start(List.of(script("t", "true").inputs("nope.txt").build()));
    TargetOutcome o = build(net, "t").target("t").orElseThrow();
    assertEquals(Status.FAILED, o.status());
    assertTrue(o.reason().contains("nope.txt"), o.reason());
    assertEquals(List.of(), runs(), "nothing ran");
  }

  @Test
  void aMissingDeclaredOutputFailsTheTarget() throws Exception {
    BuildNet net = start(List.of(script("t", "true").outputs("never.txt").build()));
    TargetOutcome o = build(net, "t").target("t").orElseThrow();
    assertEquals(Status.FAILED, o.status());
    assertTrue(o.reason().contains("never.txt"), o.reason());
  }

  @Test
  void aCycleIsRejectedBeforeAnythingRunsWithItsPath() {
    var e = assertThrows(InvalidGraphException.class, () -> BuildNet.builder().workspace(ws)
        .targets(List.of(
            script("a", "true").dependsOn("b").build(),
            script("b", "true").dependsOn("a").build())));
    assertEquals(InvalidGraphException.Reason.INVALID, e.reason());
    assertTrue(e.getMessage().contains("a -> b -> a") || e.getMessage().contains("b -> a -> b"),
        e.getMessage());
  }

  @Test
  void anUnknownTargetNameIsRefused() throws Exception {
    BuildNet net = start(chain());
    var e = assertThrows(InvalidGraphException.class, () -> net.build("nonesuch"));
    assertEquals(InvalidGraphException.Reason.UNKNOWN_TARGET, e.reason());
    assertTrue(e.getMessage().contains("nonesuch"), e.getMessage());
  }

  @Test
  void gcEvictsAboveTheCapAndTheNextBuildRebuilds() throws Exception {
    write("in.txt", "x".repeat(10_000));
    BuildNet net = start(BuildNet.builder().workspace(ws).cacheMaxBytes(100).targets(List.of(
        script("t", "cp in.txt out.txt").inputs("in.txt").outputs("out.txt").build())));
    build(net, "t");
    GcReport report = net.gc();
    assertTrue(report.blobsRemoved() >= 1, report.toString());
    assertEquals(1, report.entriesRemoved());
    assertTrue(report.bytesRemaining() <= 100);
    Files.delete(ws.resolve("out.txt"));
    assertEquals(Status.BUILT, build(net, "t").target("t").orElseThrow().status());
  }

  @Test
  void twoInstancesOnDifferentWorkspacesDoNotInterfere(@TempDir Path other) throws Exception {
    List<Target> targets = List.of(
        script("t", "sleep 0.2; pwd > where.txt").outputs("where.txt").build());
    BuildNet a = start(targets);
    BuildNet b = BuildNet.builder().workspace(other).targets(targets).start();
    opened.add(b);
    BuildFuture fa = a.build("t");
    BuildFuture fb = b.build("t");
    assertTrue(fa.get(WAIT.toSeconds(), TimeUnit.SECONDS).success());
    assertTrue(fb.get(WAIT.toSeconds(), TimeUnit.SECONDS).success());
    assertEquals(ws.toRealPath().toString(), Files.readString(ws.resolve("where.txt")).strip());
    assertEquals(other.toRealPath().toString(),
        Files.readString(other.resolve("where.txt")).strip());
  }

  @Test
  void aTargetNeedingMoreSlotsThanConfiguredFailsClearly() throws Exception {
    BuildNet net = start(BuildNet.builder().workspace(ws).localSlots(2).targets(List.of(
        script("big", "true").cpuSlots(8).build())));
    TargetOutcome o = build(net, "big").target("big").orElseThrow();
    assertEquals(Status.FAILED, o.status());
    assertTrue(o.reason().contains("8 CPU slots"), o.reason());
  }

  @Test
  void aTargetRequiringAnAbsentCapabilityFailsNamingIt() throws Exception {
    BuildNet net = start(BuildNet.builder().workspace(ws).capabilities("jdk17").targets(List.of(
        script("gpu", "true").requires("cuda").build(),
        script("java", "true").requires("jdk17", "linux").build())));
    BuildResult r = net.build(List.of("gpu", "java"), true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    TargetOutcome gpu = r.target("gpu").orElseThrow();
    assertEquals(Status.FAILED, gpu.status());
    assertTrue(gpu.reason().contains("[cuda]"), gpu.reason());
    assertEquals(Status.BUILT, r.target("java").orElseThrow().status());
    assertEquals(List.of("java"), runs());
  }

  @Test
  void metricsAreFilledForBuiltTargets() throws Exception {
    write("in.txt", "12345");
    BuildNet net = start(List.of(script("t", "cp in.txt out.txt").inputs("in.txt")
        .outputs("out.txt").build()));
    TargetOutcome o = build(net, "t").target("t").orElseThrow();
    assertEquals(1, o.metrics().cache().filesChecked());
    assertEquals(1, o.metrics().cache().misses());
    assertTrue(o.metrics().phases().build().toNanos() > 0);
    assertEquals(5, o.metrics().resources().ioReadBytes());
    assertEquals(5, o.metrics().resources().ioWriteBytes());
    assertTrue(o.duration().compareTo(o.metrics().phases().build()) >= 0);
  }

  @Test
  void theBuilderFailsFastOnMisuse() {
    BuildNet.Builder b = BuildNet.builder().localSlots(2);
    var twice = assertThrows(IllegalStateException.class, () -> b.localSlots(3));
    assertTrue(twice.getMessage().contains("already set to 2"), twice.getMessage());
    assertThrows(IllegalArgumentException.class, () -> BuildNet.builder().localSlots(-1));
    var nowhere = assertThrows(IllegalStateException.class,
        () -> BuildNet.builder().workspace(ws).localSlots(0).start());
    assertTrue(nowhere.getMessage().contains("listen"), nowhere.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> BuildNet.builder().placementTimeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class,
        () -> BuildNet.builder().workspace(ws.resolve("missing")));
    assertThrows(IllegalStateException.class, () -> BuildNet.builder().start());
  }

  @Test
  void aSuppliedExecutorRunsTheTargetsAndIsLeftRunning() throws Exception {
    java.util.concurrent.ExecutorService host = java.util.concurrent.Executors.newFixedThreadPool(
        2, r -> new Thread(r, "host-worker"));
    try {
      List<String> threads = new CopyOnWriteArrayList<>();
      BuildNet net = start(BuildNet.builder().workspace(ws).executor(host).targets(chain())
          .listener(new BuildListener() {
            @Override
            public void targetStarted(String id, String target, int attempt) {
              threads.add(Thread.currentThread().getName());
            }
          }));
      assertTrue(build(net, "b").success());
      assertEquals(List.of("host-worker", "host-worker"), threads);
      net.close();
      assertFalse(host.isShutdown(), "BuildNet must not shut down an executor it did not create");
    } finally {
      host.shutdownNow();
    }
  }

  @Test
  void drainWaitsForRunningBuildsAndRefusesNewOnes() throws Exception {
    BuildNet net = start(List.of(script("t", "sleep 0.3; echo done > t.txt").outputs("t.txt")
        .build()));
    BuildFuture running = net.build("t");
    java.util.concurrent.CompletableFuture<Void> drained = net.drain();
    assertThrows(IllegalStateException.class, () -> net.build("t"));
    drained.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertTrue(running.isDone(), "drain completed before the running build");
    assertTrue(running.get().success());
  }

  @Test
  void closeIsIdempotentAndLaterBuildsAreRefused() throws Exception {
    BuildNet net = start(chain());
    net.close();
    net.close();
    assertThrows(IllegalStateException.class, () -> net.build("a"));
  }

  @Test
  void aSuppliedStateBackendIsUsedAndLeftOpen() throws Exception {
    try (StateBackend state = StateBackend.inMemory()) {
      try (BuildNet net = BuildNet.builder().workspace(ws).state(state).targets(chain()).start()) {
        build(net, "b");
      }
      assertFalse(state.keys("ac/").isEmpty(), "the action cache lives in the supplied backend");
      assertFalse(Files.exists(ws.resolve(".buildnet/state.db")));
    }
  }

  @Test
  void workspaceFileIsTheDefaultSourceOfTargets() throws Exception {
    write("buildnet.json", """
        {"version": 1, "targets": {"hello": {"command": ["bash", "-c", "echo hi > hi.txt"],
          "outputs": ["hi.txt"]}}}
        """);
    BuildNet net = start(BuildNet.builder().workspace(ws));
    assertTrue(build(net, "hello").success());
    assertEquals("hi", Files.readString(ws.resolve("hi.txt")).strip());
  }
}
