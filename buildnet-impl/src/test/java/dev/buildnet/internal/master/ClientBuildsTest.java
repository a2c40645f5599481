package dev.buildnet.internal.master;

import dev.buildnet.client.TestPeers;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.NotStartedException;
import dev.buildnet.client.RemoteBuild;
import dev.buildnet.client.RemoteBuildResult;
import dev.buildnet.client.RemoteClient;
import dev.buildnet.client.RemoteSubscription;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.events.EventFields;
import dev.buildnet.api.build.BuildEvent.Kind;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.graph.Target;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.protocol.Payloads.Subscribe;
import dev.buildnet.internal.protocol.Payloads.Unsubscribe;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clients submit builds to a BuildNet's master and follow them over real sockets. */
class ClientBuildsTest {
  private static final byte[] SECRET = "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);
  private static final long WAIT = 20;

  @TempDir Path ws;
  private final List<AutoCloseable> opened = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
  }

  private static Target.Builder script(String name, String script) {
    return Target.builder(name).command("bash", "-c", script).envPassthrough("PATH");
  }

  /** a writes out/a.txt; b copies it to out/b.txt; bad fails; slow runs until killed. */
  private List<Target> graph() {
    return List.of(
        Target.builder("a").command("printf", "%s", "alpha").build(),
        script("a-file", "printf alpha > out/a.txt").outputs("out/a.txt").build(),
        script("b", "echo copying; cp out/a.txt out/b.txt; echo to-stderr >&2")
            .inputs("out/a.txt").outputs("out/b.txt").dependsOn("a-file").build(),
        script("bad", "echo about to fail; exit 3").build(),
        script("gated", "echo waiting; while [ ! -f go ]; do sleep 0.02; done; echo went").build(),
        script("slow", "sleep 60 & echo $! > child.pid; echo started; wait").build());
  }

  private BuildNet start() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    BuildNet net = BuildNet.builder().workspace(ws).targets(graph()).localSlots(2)
        .listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET)).start();
    opened.add(net);
    return net;
  }

  private RemoteClient connect(BuildNet net, String id) {
    RemoteClient c = RemoteClient.builder().address(AddOns.master(net).orElseThrow().localAddress())
        .transport(TransportSettings.ofSecret(SECRET)).clientId(id).requestTimeout(Duration.ofSeconds(WAIT)).connect();
    opened.add(c);
    return c;
  }

  private static RemoteBuildResult await(RemoteBuild b) throws Exception {
    return b.result().get(WAIT, TimeUnit.SECONDS);
  }

  /** Collects events; {@link #await} waits for one that matches. */
  private static final class Events implements java.util.function.Consumer<BuildEvent> {
    final List<BuildEvent> all = new CopyOnWriteArrayList<>();
    final BlockingQueue<BuildEvent> queue = new LinkedBlockingQueue<>();

    @Override
    public void accept(BuildEvent e) {
      all.add(e);
      queue.add(e);
    }

    BuildEvent await(Predicate<BuildEvent> p) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
      while (true) {
        BuildEvent e = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (e == null) {
          throw new AssertionError("no matching event within " + WAIT + " s; got " + all);
        }
        if (p.test(e)) {
          return e;
        }
      }
    }

    List<String> describe(String buildId) {
      List<String> out = new ArrayList<>();
      for (BuildEvent e : all) {
        if (buildId.equals(e.buildId())) {
          out.add(e.kind().wireName() + (EventFields.target(e) == null ? "" : " " + EventFields.target(e))
              + (EventFields.status(e) == null ? "" : " " + EventFields.status(e))
              + (EventFields.line(e) == null ? "" : " " + EventFields.stream(e).name().toLowerCase() + ":" + EventFields.line(e)));
        }
      }
      return out;
    }
  }

  private static Predicate<BuildEvent> finished(String buildId) {
    return e -> e.kind() == Kind.BUILD_FINISHED && buildId.equals(e.buildId());
  }

  @Test
  void aClientsBuild_isRecordedWithItsClientIdAddressAndRequestedTargets() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c-origin");
    RemoteBuild build = client.newBuild(List.of("b")).submit();
    assertTrue(await(build).success());
    dev.buildnet.internal.events.BuildSnapshot s = AddOns.history(net).build(build.buildId()).orElseThrow();
    assertEquals(List.of("b"), s.requested());
    assertEquals(List.of("a-file", "b"), s.targets().stream().map(t -> t.name()).toList());
    assertEquals(dev.buildnet.api.build.BuildOrigin.Kind.CLIENT, s.origin().kind());
    assertEquals("c-origin", s.origin().name());
    assertTrue(s.origin().address().matches("127\\.0\\.0\\.1:\\d+"), s.origin().toString());
  }

  @Test
  void submit_reportsProgressPerTargetAndOutputsThatDownloadFromTheMaster() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    List<RemoteBuild.Progress> progress = new CopyOnWriteArrayList<>();
    RemoteBuild build = client.newBuild(List.of("b")).onProgress(progress::add).submit();
    RemoteBuildResult r = await(build);

    assertTrue(r.success(), r.toString());
    assertEquals(build.buildId(), r.buildId());
    assertNull(r.error());
    assertEquals(Map.of("a-file", "built", "b", "built"), r.targets());
    assertEquals(2, r.executed());
    assertEquals(0, r.cacheHits());
    assertEquals(List.of(new RemoteBuild.Progress(1, 2, "a-file", "built"),
        new RemoteBuild.Progress(2, 2, "b", "built")), progress, "delivered before the result");
    assertEquals(progress.get(1), build.progress());

    assertEquals(1, r.outputs().size(), "the requested target's outputs: " + r.outputs());
    Artifact out = r.outputs().get(0);
    assertEquals("out/b.txt", out.path());
    byte[] local = Files.readAllBytes(ws.resolve("out/b.txt"));
    assertEquals(local.length, out.sizeBytes());
    assertEquals(dev.buildnet.api.hash.HashProvider.xxh64().hash(local), out.digest());
    Path downloaded = ws.resolve("downloaded.txt");
    client.blobs().download(out.digest(), downloaded);
    assertArrayEquals(local, Files.readAllBytes(downloaded));

    RemoteBuildResult again = await(client.submit("b"));
    assertEquals(2, again.cacheHits(), "the master's cache serves the second build");
    assertEquals(0, again.executed());
  }

  @Test
  void aFailingTargetEndsInBuildFailedNamingIt() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    RemoteBuildResult r = await(client.newBuild(List.of("bad", "a-file")).keepGoing(true).submit());
    assertFalse(r.success());
    assertEquals(List.of("bad"), r.failedTargets());
    assertTrue(r.error().contains("'bad'"), r.error());
    assertEquals("failed", r.targets().get("bad"));
    assertEquals("built", r.targets().get("a-file"), "keepGoing built the independent target");
    assertTrue(r.outputs().isEmpty());
    assertFalse(r.cancelled());
  }

  @Test
  void buildFailed_carriesTheExitCodeOfAFailedCommand_butNoneForOneKilledAtItsTimeout() {
    // A worker's BUILD_FAILED for a timed-out attempt has no exit_code; a local run's outcome
    // holds the kill's status (143), which the master once reported as the command's exit code.
    dev.buildnet.internal.protocol.Payloads.BuildFailed exited = (dev.buildnet.internal.protocol
        .Payloads.BuildFailed) ClientBuilds.finalMessage("b-1", failedWith(3, "EXIT_CODE"));
    assertEquals(3L, exited.exitCode());
    dev.buildnet.internal.protocol.Payloads.BuildFailed killed = (dev.buildnet.internal.protocol
        .Payloads.BuildFailed) ClientBuilds.finalMessage("b-2", failedWith(143, "TIMEOUT"));
    assertNull(killed.exitCode(), killed.toString());
    assertEquals(List.of("t"), killed.failedTargets());
  }

  private static dev.buildnet.api.build.BuildResult failedWith(int exitCode, String errorCode) {
    dev.buildnet.api.build.TargetOutcome t = new dev.buildnet.api.build.TargetOutcome("t",
        dev.buildnet.api.build.TargetOutcome.Status.FAILED, "failed", null, exitCode, 1,
        Duration.ZERO, List.of(), List.of(dev.buildnet.api.build.BuildError.of(errorCode, "x")),
        dev.buildnet.api.build.BuildMetrics.EMPTY);
    return new dev.buildnet.api.build.BuildResult(false, "b", Duration.ZERO, List.of(), List.of(),
        List.of(), dev.buildnet.api.build.BuildMetrics.EMPTY, List.of(t));
  }

  @Test
  void refusals_sayWhyAndStartNothing() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    NotStartedException unknown = assertThrows(NotStartedException.class,
        () -> client.submit("nope"));
    assertEquals(NotStartedException.Reason.REFUSED, unknown.reason());
    assertEquals(ErrorCode.INVALID_PAYLOAD, unknown.code().orElseThrow());
    assertTrue(unknown.getMessage().contains("nope"), unknown.getMessage());

    RemoteBuild first = client.newBuild(List.of("a")).buildId("fixed-id").submit();
    await(first);
    NotStartedException reused = assertThrows(NotStartedException.class,
        () -> client.newBuild(List.of("a")).buildId("fixed-id").submit());
    assertEquals(NotStartedException.Reason.REFUSED, reused.reason());
    assertEquals(ErrorCode.INVALID_PAYLOAD, reused.code().orElseThrow());
    assertTrue(reused.remoteMessage().contains("fixed-id"), reused.remoteMessage());

    assertFalse(client.cancel("not-running"), "cancel of an unknown build");
    assertEquals(1, AddOns.history(net).builds().size(), "only the accepted build is known");
  }

  @Test
  void rawRequests_breakingTheClientRules_getNonFatalErrors() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    dev.buildnet.internal.transport.Session c = TestPeers.connection(client);
    assertEquals(ErrorCode.INVALID_PAYLOAD, error(c, new BuildRequest("x1", List.of("a"), 1L, null, null, null, null)));
    // force, env and timeout_ms are served since 1.3 (ReattachAndBuildOptionsTest); a build
    // service that cannot honour them answers UNSUPPORTED (tested there too).
    assertEquals(ErrorCode.INVALID_PAYLOAD, error(c, new BuildRequest("x5", List.of("a"), null, null, null, Map.of("", "v"), null)));
    c.request(new Subscribe("dup", null, null), Duration.ofSeconds(WAIT)).get(WAIT, TimeUnit.SECONDS);
    assertEquals(ErrorCode.INVALID_PAYLOAD, error(c, new Subscribe("dup", null, null)));
    c.request(new Unsubscribe("dup"), Duration.ofSeconds(WAIT)).get(WAIT, TimeUnit.SECONDS);
    assertEquals(ErrorCode.NOT_FOUND, error(c, new Unsubscribe("dup")));
    assertTrue(c.isOpen(), "none of them is fatal");
    assertTrue(AddOns.history(net).builds().isEmpty());
    assertTrue(await(client.submit("a")).success(), "the connection still serves builds");
  }

  @Test
  void aTypeTheMasterDoesNotServe_isUnsupported_andTheMessageListsTheBuildRequestsItDoesServe()
      throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    dev.buildnet.internal.transport.Session c = TestPeers.connection(client);
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> c.request(new dev.buildnet.internal.protocol.Payloads.BuildProgress(
            "b", 0, 0, null, null, null, null), Duration.ofSeconds(WAIT))
            .get(WAIT, TimeUnit.SECONDS));
    RemoteErrorException remote = (RemoteErrorException) e.getCause();
    assertEquals(ErrorCode.UNSUPPORTED, remote.code().orElseThrow());
    // A client reading it learns what to send instead: this master takes builds too.
    assertTrue(remote.remoteMessage().contains("BUILD_REQUEST"), remote.remoteMessage());
    assertTrue(remote.remoteMessage().contains("SUBSCRIBE"), remote.remoteMessage());
  }

  private static ErrorCode error(dev.buildnet.internal.transport.Session c, dev.buildnet.api.transport.Payload p) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> c.request(p, Duration.ofSeconds(WAIT)).get(WAIT, TimeUnit.SECONDS));
    return ((RemoteErrorException) e.getCause()).code().orElseThrow();
  }

  @Test
  void workersMayNotSubmitBuilds() throws Exception {
    BuildNet net = start();
    try (FakeWorker w = new FakeWorker(AddOns.master(net).orElseThrow().localAddress(), SECRET, "w1",
        List.of(), 1, 64)) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> w.request(new BuildRequest("w-build", List.of("a"), null, null, null, null, null)));
      RemoteErrorException remote = (RemoteErrorException) e.getCause();
      assertEquals(ErrorCode.UNSUPPORTED, remote.code().orElseThrow());
      assertTrue(remote.remoteMessage().contains("worker"), remote.remoteMessage());
    }
  }

  @Test
  void aMasterWithoutABuildServiceRefusesBuilds() throws Exception {
    try (StateBackend state = StateBackend.inMemory();
        MasterServer master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).start();
        RemoteClient client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET))
            .connect()) {
      NotStartedException e = assertThrows(NotStartedException.class, () -> client.submit("a"));
      assertEquals(NotStartedException.Reason.REFUSED, e.reason());
      assertEquals(ErrorCode.UNSUPPORTED, e.code().orElseThrow());
      assertEquals(NotStartedException.Reason.REFUSED, assertThrows(NotStartedException.class,
          () -> client.subscribe(null, false, ev -> {})).reason());
    }
  }

  @Test
  void cancel_killsTheRunningCommandAndEndsTheBuildCancelled() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    Events events = new Events();
    RemoteBuild build = client.newBuild(List.of("slow")).onEvent(events).logs(true).submit();
    events.await(e -> "started".equals(EventFields.line(e)));

    assertTrue(build.cancel());
    RemoteBuildResult r = await(build);
    assertFalse(r.success());
    assertTrue(r.cancelled(), r.toString());
    assertEquals("cancelled", r.targets().get("slow"));
    assertTrue(r.error().contains("cancelled"), r.error());
    long pid = Long.parseLong(Files.readString(ws.resolve("child.pid")).strip());
    assertFalse(Pids.isRunning(pid), "pid " + pid + " survived the cancel");
    assertFalse(build.cancel(), "no longer running");
  }

  @Test
  void events_withLogs_arriveInOrderBeforeTheResult() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    Events events = new Events();
    List<String> order = new CopyOnWriteArrayList<>();
    RemoteBuild build = client.newBuild(List.of("b")).logs(true)
        .onEvent(e -> {
          events.accept(e);
          order.add("event");
        }).submit();
    build.result().thenRun(() -> order.add("result"));
    await(build);

    assertEquals(List.of(
        "build_started",
        "target_started a-file",
        "target_finished a-file built",
        "target_started b",
        "log b stdout:copying",
        "log b stderr:to-stderr",
        "target_finished b built",
        "build_finished succeeded"), events.describe(build.buildId()));
    CompletableFuture<Void> sequenced = new CompletableFuture<>();
    build.result().thenRun(() -> sequenced.complete(null));
    sequenced.get(WAIT, TimeUnit.SECONDS);
    assertEquals("result", order.get(order.size() - 1), "every event came before the result");
    assertEquals(events.all.size(), order.size() - 1);
  }

  @Test
  void aSubscriberJoiningMidBuildGetsAReplayThenTheRest() throws Exception {
    BuildNet net = start();
    RemoteClient submitter = connect(net, "submitter");
    Events own = new Events();
    RemoteBuild build = submitter.newBuild(List.of("gated")).onEvent(own).logs(true).submit();
    own.await(e -> "waiting".equals(EventFields.line(e)));

    RemoteClient watcher = connect(net, "watcher");
    Events late = new Events();
    try (RemoteSubscription sub = watcher.subscribe(build.buildId(), false, late)) {
      late.await(e -> e.kind() == Kind.TARGET_STARTED);
      Files.writeString(ws.resolve("go"), "");
      late.await(finished(build.buildId()));
      assertEquals(List.of(
          "build_started",
          "target_started gated",
          "target_finished gated built",
          "build_finished succeeded"), late.describe(build.buildId()));
      assertEquals(0, sub.dropped());
    }
    assertTrue(await(build).success());
  }

  @Test
  void unsubscribe_stopsTheEvents() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    Events closed = new Events();
    Events kept = new Events();
    RemoteSubscription toClose = client.subscribe(null, false, closed);
    client.subscribe(null, false, kept);
    String first = client.submit("a").buildId();
    closed.await(finished(first));

    toClose.close();
    toClose.close();
    toClose.ended().get(WAIT, TimeUnit.SECONDS);
    String second = client.submit("a").buildId();
    kept.await(finished(second));
    assertTrue(closed.describe(second).isEmpty(), "after UNSUBSCRIBE: " + closed.describe(second));
    assertFalse(kept.describe(first).isEmpty());
  }

  @Test
  void aClientThatDisconnectsLeavesItsBuildRunningAndTheMasterServing() throws Exception {
    BuildNet net = start();
    RemoteClient leaving = RemoteClient.builder()
        .address(AddOns.master(net).orElseThrow().localAddress()).transport(TransportSettings.ofSecret(SECRET)).clientId("leaving")
        .connect();
    Events events = new Events();
    RemoteBuild build = leaving.newBuild(List.of("gated")).onEvent(events).logs(true).submit();
    events.await(e -> "waiting".equals(EventFields.line(e)));
    leaving.close();
    ExecutionException lost = assertThrows(ExecutionException.class, () -> await(build));
    assertTrue(lost.getCause() instanceof BuildNetException, String.valueOf(lost.getCause()));
    assertTrue(lost.getCause().getMessage().contains("may still be running"), lost.getCause().getMessage());

    RemoteClient other = connect(net, "other");
    Events watched = new Events();
    other.subscribe(build.buildId(), false, watched);
    Files.writeString(ws.resolve("go"), "");
    BuildEvent end = watched.await(finished(build.buildId()));
    assertEquals("succeeded", EventFields.status(end), "the build finished without its client");
    assertTrue(await(other.submit("a")).success());
  }

  @Test
  void aListenerMayCallTheClient() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    CountDownLatch nested = new CountDownLatch(1);
    RemoteBuild build = client.newBuild(List.of("a")).onProgress(p -> {
      client.state().setString("seen", p.target()); // a round trip from the event thread
      nested.countDown();
    }).submit();
    await(build);
    assertTrue(nested.await(WAIT, TimeUnit.SECONDS));
    assertEquals("a", client.state().getString("seen").orElseThrow());
  }

  @Test
  void request_checksItsArguments() throws Exception {
    BuildNet net = start();
    RemoteClient client = connect(net, "c1");
    assertThrows(IllegalArgumentException.class, () -> client.newBuild(List.of()));
    assertThrows(IllegalArgumentException.class, () -> client.newBuild(List.of("")));
    RemoteBuild.Request r = client.newBuild(List.of("a")).keepGoing(true);
    assertThrows(IllegalStateException.class, () -> r.keepGoing(false));
    assertThrows(IllegalStateException.class, () -> client.newBuild(List.of("a")).logs(true).submit());
  }
}
