package dev.buildnet.internal.master;

import dev.buildnet.client.TestPeers;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.NotStartedException;
import dev.buildnet.client.RemoteBuild;
import dev.buildnet.client.RemoteBuildResult;
import dev.buildnet.client.RemoteClient;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.events.EventFields;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.graph.Target;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that lost its connection re-attaches to its build by id (SUBSCRIBE with {@code
 * since}); BUILD_REQUEST {@code force}, {@code env} and {@code timeout_ms} do what
 * docs/PROTOCOL.md says.
 */
class ReattachAndBuildOptionsTest {
  private static final byte[] SECRET = "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);
  private static final long WAIT = 30;

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

  private BuildNet start(List<Target> targets) throws Exception {
    BuildNet net = BuildNet.builder().workspace(ws).targets(targets).localSlots(2)
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

  private static List<String> describe(List<BuildEvent> events) {
    List<String> out = new ArrayList<>();
    for (BuildEvent e : events) {
      out.add(e.kind().wireName() + (EventFields.target(e) == null ? "" : " " + EventFields.target(e))
          + (EventFields.status(e) == null ? "" : " " + EventFields.status(e)));
    }
    return out;
  }

  private static String status(BuildNet net, String buildId, String target) {
    return AddOns.history(net).build(buildId).orElseThrow().targets().stream()
        .filter(t -> t.name().equals(target)).findFirst().orElseThrow().status();
  }

  private static RemoteBuildResult await(RemoteBuild b) throws Exception {
    return b.result().get(WAIT, TimeUnit.SECONDS);
  }

  @Test
  void aClientThatLostItsConnection_reattachesAndGetsTheEventsItMissedAndTheResult() throws Exception {
    BuildNet net = start(List.of(script("gated",
        "while [ ! -f go ]; do sleep 0.02; done; echo done > out.txt").outputs("out.txt").build()));
    RemoteClient first = connect(net, "first");
    CountDownLatch running = new CountDownLatch(1);
    RemoteBuild lost = first.newBuild(List.of("gated")).buildId("b-lost").onEvent(e -> {
      if (e.kind() == BuildEvent.Kind.TARGET_STARTED) {
        running.countDown();
      }
    }).submit();
    assertTrue(running.await(WAIT, TimeUnit.SECONDS), "the target never started");
    first.close(); // the connection is lost; the build runs on
    long seen = lost.lastEventSeq();
    assertEquals(2, seen, "build_started and target_started");
    ExecutionException gone = assertThrows(ExecutionException.class, () -> await(lost));
    assertTrue(gone.getCause().getMessage().contains("may still be running"), gone.getMessage());

    // Re-attached while it still runs: the later events live, then the result.
    RemoteClient second = connect(net, "second");
    List<BuildEvent> live = new CopyOnWriteArrayList<>();
    RemoteBuild again = second.attach("b-lost", seen, lost.logs(), live::add);
    Files.writeString(ws.resolve("go"), "");
    RemoteBuildResult r = await(again);
    assertTrue(r.success(), r.toString());
    assertEquals(List.of("out.txt"), r.outputs().stream().map(a -> a.path()).toList());
    assertEquals(Map.of("gated", "built"), r.targets());
    assertEquals(List.of("target_finished gated built", "build_finished succeeded"), describe(live));
    assertEquals(4, again.lastEventSeq());

    // Re-attached after it ended, from the start: the whole build again, then the result.
    RemoteClient third = connect(net, "third");
    List<BuildEvent> replayed = new CopyOnWriteArrayList<>();
    RemoteBuildResult after = await(third.attach("b-lost", 0, false, replayed::add));
    assertTrue(after.success(), after.toString());
    assertEquals(List.of("build_started", "target_started gated", "target_finished gated built",
        "build_finished succeeded"), describe(replayed));

    // Having seen every event, a re-attach still gets the result it may have missed.
    RemoteBuildResult last = await(connect(net, "fourth").attach("b-lost", 4, false, null));
    assertTrue(last.success(), last.toString());
  }

  @Test
  void reattachingAfterEventsOfABuildTheMasterDoesNotKnow_isNotFound() throws Exception {
    BuildNet net = start(List.of(script("a", "true").build()));
    RemoteClient c = connect(net, "c");
    NotStartedException e = assertThrows(NotStartedException.class,
        () -> c.attach("never-built", 3, false, null));
    assertEquals(NotStartedException.Reason.REFUSED, e.reason());
    assertEquals(ErrorCode.NOT_FOUND, e.code().orElseThrow());
  }

  @Test
  void historyNumbersABuildsEventsWithAndWithoutLogLines() {
    BuildHistory h = new BuildHistory(Clock.systemUTC(), 10, 10);
    h.buildStarted("b", List.of("t"));
    h.targetStarted("b", "t", 1);
    h.logLine("b", "t", dev.buildnet.api.exec.OutputListener.Stream.STDOUT, "one", false);
    h.logLine("b", "t", dev.buildnet.api.exec.OutputListener.Stream.STDOUT, "two", false);
    List<String> withLogs = new ArrayList<>();
    List<String> without = new ArrayList<>();
    h.attach("b", true, 2, (n, e) -> withLogs.add(n + " " + e.kind().wireName())).orElseThrow();
    h.attach("b", false, 1, (n, e) -> without.add(n + " " + e.kind().wireName())).orElseThrow();
    h.logLine("b", "t", dev.buildnet.api.exec.OutputListener.Stream.STDERR, "three", false);
    assertEquals(List.of("3 log", "4 log", "5 log"), withLogs);
    assertEquals(List.of("2 target_started"), without); // no gap: log lines are not counted
    TargetOutcome t = new TargetOutcome("t", TargetOutcome.Status.BUILT, "built", null, 0, 1,
        Duration.ZERO, List.of(), List.of(), BuildMetrics.EMPTY);
    h.targetFinished("b", t);
    List<String> running = new ArrayList<>();
    h.attach("b", true, 0, (n, e) -> running.add(n + " " + e.kind().wireName())).orElseThrow();
    assertEquals(List.of("1 build_started", "2 target_started", "3 log", "4 log", "5 log",
        "6 target_finished"), running, "a running build keeps its log lines for replays");
    h.buildFinished(new BuildResult(true, "b", Duration.ZERO, List.of(), List.of(), List.of(),
        BuildMetrics.EMPTY, List.of(t)));
    List<String> finished = new ArrayList<>();
    h.attach("b", true, 0, (n, e) -> finished.add(n + " " + e.kind().wireName())).orElseThrow();
    assertEquals(List.of("1 build_started", "2 target_started", "6 target_finished",
        "7 build_finished"), finished, "a finished build keeps its lifecycle, numbered as before");
    assertTrue(h.attach("unknown", false, 1, (n, e) -> {}).isEmpty());
    assertTrue(h.attach("unknown", false, 0, (n, e) -> {}).isPresent(), "0: it need not exist yet");
  }

  @Test
  void force_ignoresCacheHitsOfTheRequestedTargets_butNotOfTheirDependencies() throws Exception {
    BuildNet net = start(List.of(
        script("dep", "echo dep > dep.txt").outputs("dep.txt").build(),
        script("app", "cat dep.txt > app.txt").inputs("dep.txt").outputs("app.txt")
            .dependsOn("dep").build()));
    RemoteClient c = connect(net, "c");
    assertTrue(await(c.newBuild(List.of("app")).buildId("one").submit()).success());
    assertTrue(await(c.newBuild(List.of("app")).buildId("two").submit()).success());
    assertEquals("cached", status(net, "two", "app"));
    RemoteBuildResult forced = await(c.newBuild(List.of("app")).buildId("three").force(true).submit());
    assertTrue(forced.success(), forced.toString());
    assertEquals(Map.of("dep", "cached", "app", "built"), forced.targets());
    assertEquals(1, forced.executed());
  }

  @Test
  void env_reachesOnlyTargetsThatPassTheVariableThrough_andIsPartOfTheirKeys() throws Exception {
    BuildNet net = start(List.of(
        script("greet", "echo \"$GREETING\" > greet.txt").envPassthrough("GREETING")
            .outputs("greet.txt").build(),
        script("plain", "echo \"[$GREETING]\" > plain.txt").outputs("plain.txt").build()));
    RemoteClient c = connect(net, "c");
    RemoteBuildResult hello = await(c.newBuild(List.of("greet", "plain")).buildId("hello")
        .env(Map.of("GREETING", "hello")).submit());
    assertTrue(hello.success(), hello.toString());
    assertEquals("hello\n", Files.readString(ws.resolve("greet.txt")));
    assertEquals("[]\n", Files.readString(ws.resolve("plain.txt")), "plain does not pass it through");

    RemoteBuildResult bye = await(c.newBuild(List.of("greet", "plain")).buildId("bye")
        .env(Map.of("GREETING", "bye")).submit());
    assertEquals(Map.of("greet", "built", "plain", "cached"), bye.targets(), "only greet's key moved");
    assertEquals("bye\n", Files.readString(ws.resolve("greet.txt")));

    RemoteBuildResult helloAgain = await(c.newBuild(List.of("greet")).buildId("hello-again")
        .env(Map.of("GREETING", "hello")).submit());
    assertEquals(Map.of("greet", "cached"), helloAgain.targets(), "the same value, the same key");
    assertEquals("hello\n", Files.readString(ws.resolve("greet.txt")));
  }

  @Test
  void timeoutMs_capsEveryTargetsRunTime() throws Exception {
    BuildNet net = start(List.of(script("sleepy", "sleep 60").cacheable(false).build()));
    RemoteClient c = connect(net, "c");
    RemoteBuildResult r = await(c.newBuild(List.of("sleepy")).buildId("capped")
        .timeout(Duration.ofMillis(300)).submit());
    assertFalse(r.success());
    assertEquals(List.of("sleepy"), r.failedTargets());
    assertTrue(r.error().contains("timed out after PT0.3S"), r.error());
    assertEquals("failed", status(net, "capped", "sleepy"));
  }

  @Test
  void aBuildServiceWithoutOptions_answersThemUnsupported() throws Exception {
    BuildHistory history = new BuildHistory(Clock.systemUTC(), 10, 10);
    BuildService plain = new BuildService() {
      @Override
      public CompletableFuture<BuildResult> submit(String buildId, List<String> targets, boolean keepGoing) {
        return new CompletableFuture<>();
      }

      @Override
      public boolean cancel(String buildId) {
        return false;
      }

      @Override
      public BuildHistory history() {
        return history;
      }
    };
    InMemoryStateBackend state = InMemoryStateBackend.builder().build();
    opened.add(state);
    MasterServer m = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).builds(plain).start();
    opened.add(m);
    RemoteClient c = RemoteClient.builder().address(m.localAddress()).transport(TransportSettings.ofSecret(SECRET)).connect();
    opened.add(c);
    for (BuildRequest r : List.of(
        new BuildRequest("x2", List.of("a"), null, null, true, null, null),
        new BuildRequest("x3", List.of("a"), null, null, null, Map.of("K", "v"), null),
        new BuildRequest("x4", List.of("a"), null, null, null, null, 5L))) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> TestPeers.connection(c).request(r, Duration.ofSeconds(WAIT)).get(WAIT, TimeUnit.SECONDS));
      assertEquals(ErrorCode.UNSUPPORTED,
          assertInstanceOf(RemoteErrorException.class, e.getCause()).code().orElseThrow());
    }
  }
}
