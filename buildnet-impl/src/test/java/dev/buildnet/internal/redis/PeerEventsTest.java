package dev.buildnet.internal.redis;

import dev.buildnet.tck.RedisServer;

import dev.buildnet.redis.RedisStateBackend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.state.Subscription;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.peers.PeerEvents;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A master sees its peer's builds through Redis pub/sub, and not its own. */
class PeerEventsTest {
  @TempDir Path ws;

  @Test
  void peerBuilds_areDeliveredToOtherMastersOnly() throws Exception {
    try (RedisServer server = RedisServer.start();
        RedisStateBackend redis = server.backend("events:").open()) {
      List<PeerEvents.Event> seenByB = new CopyOnWriteArrayList<>();
      List<PeerEvents.Event> seenByA = new CopyOnWriteArrayList<>();
      CompletableFuture<Void> finished = new CompletableFuture<>();
      try (Subscription b = PeerEvents.subscribe(redis, "b", e -> {
            seenByB.add(e);
            if (e.event().kind() == BuildEvent.Kind.BUILD_FINISHED) {
              finished.complete(null);
            }
          });
          Subscription a = PeerEvents.subscribe(redis, "a", seenByA::add);
          PeerEvents.Publisher publisher = PeerEvents.publisher(redis, "a");
          BuildNet net = BuildNet.builder().workspace(ws).listener(publisher)
              .targets(List.of(Target.builder("hello").command("true").build())).start()) {
        net.build("hello").get(30, TimeUnit.SECONDS);
        finished.get(30, TimeUnit.SECONDS);
        assertEquals(List.of(BuildEvent.Kind.BUILD_STARTED, BuildEvent.Kind.TARGET_STARTED,
                BuildEvent.Kind.TARGET_FINISHED, BuildEvent.Kind.BUILD_FINISHED),
            seenByB.stream().map(e -> e.event().kind()).toList());
        assertEquals(List.of("hello"),
            ((BuildEvent.BuildStarted) seenByB.get(0).event()).targets());
        BuildEvent.TargetFinished target = (BuildEvent.TargetFinished) seenByB.get(2).event();
        assertEquals(List.of("a", "hello", "built"),
            List.of(seenByB.get(2).master(), target.target(), target.status().wireName()));
        assertEquals(List.of(), seenByA, "a master does not see its own events");
        assertEquals(List.of(PeerEvents.CHANNEL, PeerEvents.CHANNEL),
            List.of(b.channel(), a.channel()));
      }
    }
  }
}
