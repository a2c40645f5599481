package dev.buildnet.internal.redis;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.tck.RedisServer;

import dev.buildnet.redis.RedisStateBackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.peers.PeerBuilds;
import dev.buildnet.internal.peers.PeerEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two BuildNets with {@code peerEvents} on one real redis-server see each other's builds. */
class PeerBuildsRedisTest {
  @TempDir Path dir;

  private static List<Target> graph() {
    return List.of(
        Target.builder("lib").command("sh", "-c", "printf lib > lib.txt").outputs("lib.txt").build(),
        Target.builder("app").command("sh", "-c", "printf app > app.txt").outputs("app.txt")
            .dependsOn("lib").build());
  }

  private BuildNet master(RedisStateBackend redis, String name) throws Exception {
    Path ws = Files.createDirectories(dir.resolve(name));
    return BuildNet.builder().workspace(ws).state(redis).targets(graph()).localSlots(2)
        .peerEvents(name).start();
  }

  @Test
  void peerBuild_showsOnTheOtherMasterWithTargetStatuses_andNobodySeesItself() throws Exception {
    String prefix = "peers-" + UUID.randomUUID() + ":";
    try (RedisServer server = RedisServer.start();
        RedisStateBackend redisA = server.backend(prefix).open();
        RedisStateBackend redisB = server.backend(prefix).open()) {
      try (BuildNet a = master(redisA, "a"); BuildNet b = master(redisB, "b")) {
        PeerBuilds seenByB = AddOns.peers(b).orElseThrow();
        CompletableFuture<PeerEvents.Event> finished = new CompletableFuture<>();
        try (PeerBuilds.Subscription sub = seenByB.subscribe(e -> {
          if (e.event().kind() == dev.buildnet.api.build.BuildEvent.Kind.BUILD_FINISHED) {
            finished.complete(e);
          }
        })) {
          String id = a.build("app").get(30, TimeUnit.SECONDS).buildId();
          assertEquals("a", finished.get(10, TimeUnit.SECONDS).master());

          List<PeerBuilds.Peer> peers = seenByB.peers();
          assertEquals(List.of("a"), peers.stream().map(PeerBuilds.Peer::master).toList());
          PeerBuilds.Build build = peers.get(0).builds().get(0);
          assertEquals(id, build.id());
          assertEquals("succeeded", build.status());
          assertEquals(Map.of("lib", "built", "app", "built"), build.targets());
          assertEquals(List.of("lib", "app"), List.copyOf(build.targets().keySet()));
          assertEquals(2, build.completed());
          assertTrue(!build.finishedAt().isBefore(build.startedAt()), build.toString());
          assertEquals(List.of(), AddOns.peers(a).orElseThrow().peers(), "a has heard from nobody");
        }
      }
    }
  }
}
