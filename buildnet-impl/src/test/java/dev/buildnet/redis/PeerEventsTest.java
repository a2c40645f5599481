package dev.buildnet.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.BuildNet;
import dev.buildnet.api.state.Subscription;
import dev.buildnet.graph.Target;
import dev.buildnet.peers.PeerEvents;
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
            if (e.kind() == PeerEvents.Kind.BUILD_FINISHED) {
              finished.complete(null);
            }
          });
          Subscription a = PeerEvents.subscribe(redis, "a", seenByA::add);
          PeerEvents.Publisher publisher = PeerEvents.publisher(redis, "a");
          BuildNet net = BuildNet.builder().workspace(ws).listener(publisher)
              .targets(List.of(Target.builder("hello").command("true").build())).start()) {
        net.build("hello").get(30, TimeUnit.SECONDS);
        finished.get(30, TimeUnit.SECONDS);
        assertEquals(List.of(PeerEvents.Kind.BUILD_STARTED, PeerEvents.Kind.TARGET_STARTED,
                PeerEvents.Kind.TARGET_FINISHED, PeerEvents.Kind.BUILD_FINISHED),
            seenByB.stream().map(PeerEvents.Event::kind).toList());
        PeerEvents.Event target = seenByB.get(2);
        assertEquals(List.of("a", "hello", "BUILT"),
            List.of(target.master(), target.target(), target.status()));
        assertEquals(List.of(), seenByA, "a master does not see its own events");
        assertEquals(List.of(PeerEvents.CHANNEL, PeerEvents.CHANNEL),
            List.of(b.channel(), a.channel()));
      }
    }
  }
}
