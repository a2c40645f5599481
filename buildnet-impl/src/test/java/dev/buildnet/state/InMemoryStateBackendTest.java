package dev.buildnet.state;

import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.tck.MutableClock;
import dev.buildnet.tck.StateBackendCompatibilityKit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.Subscription;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class InMemoryStateBackendTest extends StateBackendCompatibilityKit {

  @Override
  protected StateBackend createBackend(MutableClock clock) {
    return InMemoryStateBackend.builder().clock(clock).build();
  }

  @Test
  void capabilities_arePubSubOnly() {
    assertEquals(new StateCapabilities(false, false, false, true), backend.capabilities());
  }

  @Test
  void listeners_runOnOneNamedDaemonThreadThatStopsAtClose() throws Exception {
    CompletableFuture<Thread> first = new CompletableFuture<>();
    CompletableFuture<Thread> second = new CompletableFuture<>();
    backend.subscribe("a", m -> first.complete(Thread.currentThread()));
    backend.subscribe("b", m -> second.complete(Thread.currentThread()));
    backend.publish("a", bytes("m"));
    backend.publish("b", bytes("m"));
    Thread deliverer = await(first);
    assertEquals(deliverer, await(second));
    assertEquals("buildnet-state-pubsub", deliverer.getName());
    assertTrue(deliverer.isDaemon());

    backend.close();
    deliverer.join(10_000);
    assertFalse(deliverer.isAlive(), "the pub/sub thread should stop at close");
  }

  @Test
  void pubSubThread_isStartedOnlyWhenThereIsSomethingToDeliver() throws Exception {
    backend.publish("c", bytes("nobody listens"));
    assertFalse(pubSubThreadRuns(), "publishing without subscribers should start no thread");
    Collector collector = new Collector(1);
    try (Subscription s = backend.subscribe("c", collector)) {
      backend.publish(s.channel(), bytes("m"));
      await(collector.done);
      assertTrue(pubSubThreadRuns());
    }
  }

  private static boolean pubSubThreadRuns() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals("buildnet-state-pubsub") && t.isAlive());
  }

  @Test
  void messagesOnAChannelWithoutSubscribers_areDropped() throws Exception {
    backend.publish("c", bytes("nobody listens"));
    Collector late = new Collector(1);
    try (Subscription s = backend.subscribe("c", late)) {
      assertEquals("c", s.channel());
      backend.publish("c", bytes("after subscribing"));
      assertEquals(List.of("after subscribing"), await(late.done));
    }
  }

  @Test
  void builder_rejectsNullAndRepeatedClock() {
    assertThrows(IllegalArgumentException.class, () -> InMemoryStateBackend.builder().clock(null));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> InMemoryStateBackend.builder().clock(Clock.systemUTC()).clock(Clock.systemUTC()));
    assertTrue(e.getMessage().contains("clock was already set"), e.getMessage());
  }

  @Test
  void create_usesTheSystemClock() {
    try (InMemoryStateBackend created = InMemoryStateBackend.create()) {
      long before = System.currentTimeMillis();
      long expiry = created.acquireLock("r", Duration.ofHours(1), "me")
          .orElseThrow().expiresAt().toEpochMilli();
      assertTrue(expiry >= before + 3_600_000 && expiry <= System.currentTimeMillis() + 3_600_000);
    }
  }
}
