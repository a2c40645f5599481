package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildnet.BuildNet;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.peers.PeerBuilds;
import dev.buildnet.tck.RedisServer;
import dev.buildnet.redis.RedisStateBackend;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two masters with peer events on one real {@code redis-server}: "a" builds, "b" serves HTTP and
 * shows a's builds in {@code /api/peers}, on its event streams and on its dashboard.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeersTest {
  RedisServer server;
  RedisStateBackend redisA;
  RedisStateBackend redisB;
  BuildNet a;
  Path workspaceA;
  Fixture b;
  /** a's finished builds as b heard of them, by build id. */
  final Map<String, CompletableFuture<Void>> heardFinished = new ConcurrentHashMap<>();
  PeerBuilds.Subscription hearing;

  @BeforeAll
  void start() throws Exception {
    server = RedisServer.start();
    String prefix = "http-peers-" + UUID.randomUUID() + ":";
    redisA = server.backend(prefix).open();
    redisB = server.backend(prefix).open();
    workspaceA = Files.createTempDirectory("buildnet-peer-a-");
    // Not cacheable, so every build of a runs (and reports "built") whatever ran before.
    a = BuildNet.builder().workspace(workspaceA).state(redisA).peerEvents("a").localSlots(2)
        .targets(List.of(
            Target.builder("one").command("true").cacheable(false).build(),
            Target.builder("two").command("true").cacheable(false).dependsOn("one").build()))
        .start();
    b = new Fixture(redisB, net -> net.peerEvents("b"), http -> http.token(Fixture.TOKEN));
    hearing = AddOns.peers(b.net).orElseThrow().subscribe(e -> {
      if (e.event().kind() == dev.buildnet.api.build.BuildEvent.Kind.BUILD_FINISHED) {
        finishedOnB(e.event().buildId()).complete(null);
      }
    });
  }

  @AfterAll
  void stop() throws Exception {
    try (RedisServer s = server; RedisStateBackend ra = redisA; RedisStateBackend rb = redisB) {
      if (hearing != null) {
        hearing.close();
      }
      if (b != null) {
        b.close();
      }
      if (a != null) {
        a.close();
      }
    } finally {
      try (var all = Files.walk(workspaceA)) {
        all.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
      }
    }
  }

  private CompletableFuture<Void> finishedOnB(String buildId) {
    return heardFinished.computeIfAbsent(buildId, id -> new CompletableFuture<>());
  }

  /** Builds "two" on a and waits until b has heard the build's end. */
  private String buildOnA() throws Exception {
    String id = a.build("two").get(30, TimeUnit.SECONDS).buildId();
    finishedOnB(id).get(10, TimeUnit.SECONDS);
    return id;
  }

  /**
   * Waits until b has exactly {@code n} event streams open. The server subscribes a WebSocket when
   * it opens it, which can be after the client's handshake has returned (and a closed one is
   * removed after the client's close returns), so a test that wants a's whole build live waits
   * for its stream here before building.
   */
  private void awaitEventStreams(int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    double open;
    while ((open = ApiTest.value(b.get("/metrics").body(), "buildnet_http_event_streams")) != n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("b has " + open + " event streams open, not " + n);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void apiPeers_listsThePeersBuildWithTargetStatuses_butNotItself() throws Exception {
    String id = buildOnA();
    JsonNode body = Fixture.json(b.get("/api/peers"));
    assertTrue(body.get("enabled").asBoolean(), body.toString());
    assertEquals(1, body.get("peers").size(), body.toString());
    JsonNode peer = body.get("peers").get(0);
    assertEquals("a", peer.get("master").asText());
    assertTrue(peer.hasNonNull("lastSeen"));
    JsonNode build = peer.get("builds").get(0);
    assertEquals(id, build.get("id").asText());
    assertEquals("succeeded", build.get("status").asText());
    assertTrue(build.hasNonNull("startedAt") && build.hasNonNull("finishedAt"), build.toString());
    assertEquals(Http.JSON.readTree("{\"one\":\"built\",\"two\":\"built\"}"), build.get("targets"));
    assertEquals(1.0, build.get("progress").asDouble());
  }

  @Test
  void webSocket_carriesThePeersEvents_withItsMasterName() throws Exception {
    EventsTest.Messages live = new EventsTest.Messages();
    awaitEventStreams(0);
    WebSocket ws = EventsTest.connect(b, "?replay=false", live);
    awaitEventStreams(1);
    String id = a.build("two").get(30, TimeUnit.SECONDS).buildId();
    JsonNode started = live.await(n -> EventsTest.is(n, "peer_build_started", id));
    assertEquals("a", started.get("master").asText());
    JsonNode target = live.await(n -> EventsTest.is(n, "peer_target_finished", id)
        && n.get("target").asText().equals("two"));
    assertEquals("built", target.get("status").asText());
    JsonNode done = live.await(n -> EventsTest.is(n, "peer_build_finished", id));
    assertEquals("succeeded", done.get("status").asText());
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
  }

  @Test
  void webSocketForOneBuild_carriesNoPeerEvents() throws Exception {
    EventsTest.Messages one = new EventsTest.Messages();
    EventsTest.Messages all = new EventsTest.Messages();
    String local = b.submit("lib");
    assertEquals("succeeded", b.awaitFinished(local)); // so its replay comes before anything live
    awaitEventStreams(0);
    WebSocket w1 = EventsTest.connect(b, "?build=" + local, one);
    WebSocket w2 = EventsTest.connect(b, "?replay=false", all);
    awaitEventStreams(2);
    String id = a.build("two").get(30, TimeUnit.SECONDS).buildId();
    all.await(n -> EventsTest.is(n, "peer_build_finished", id));
    // Both streams got a's events at the same moment; the filtered one must have dropped them.
    one.await(n -> EventsTest.is(n, "build_finished", local));
    assertFalse(one.queue.stream().anyMatch(n -> n.get("kind").asText().startsWith("peer_")),
        one.queue.toString());
    w1.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    w2.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
  }

  @Test
  void dashboard_showsThePeersBuildInThePeersPanel_untilItSucceeds() throws Exception {
    Path browser = DashboardBrowserTest.chromium();
    Path profile = Files.createTempDirectory("buildnet-chromium-");
    Process p = null;
    try {
      p = DashboardBrowserTest.launch(browser, profile, b.http.uri() + "#token=" + Fixture.TOKEN);
      try (DashboardBrowserTest.Cdp cdp = DashboardBrowserTest.Cdp.connect(p)) {
        assertEquals("live", cdp.evaluate(DashboardBrowserTest.waitFor(
            "document.getElementById('conn').textContent === 'live'", "'live'")));
        String id = a.build("two").get(30, TimeUnit.SECONDS).buildId();
        String sel = "document.querySelector('#peers li[data-peer-master=\"a\"]"
            + " li[data-build-id=\"" + id + "\"]')";
        assertEquals("100", cdp.evaluate(DashboardBrowserTest.waitFor(
            sel + "?.dataset.status === 'succeeded'", sel + ".dataset.progress")));
        String text = cdp.evaluate("document.getElementById('peers').textContent");
        assertTrue(text.contains("a") && text.contains("2/2"), text);
        assertEquals("true", cdp.evaluate("String(document.getElementById('no-peers').hidden)"));
      }
    } finally {
      DashboardBrowserTest.stop(p, profile);
    }
  }
}
