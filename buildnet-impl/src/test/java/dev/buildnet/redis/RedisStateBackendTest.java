package dev.buildnet.redis;

import dev.buildnet.tck.MutableClock;
import dev.buildnet.tck.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.tck.StateBackendCompatibilityKit;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The compatibility kit against a real {@code redis-server}. Redis measures TTLs on its own clock,
 * so the time-based cases wait real time: leases of 600 ms, probed 300 ms before they end.
 */
class RedisStateBackendTest extends StateBackendCompatibilityKit {
  static RedisServer server;

  @BeforeAll
  static void startRedis() throws IOException {
    server = RedisServer.start();
  }

  @AfterAll
  static void stopRedis() throws InterruptedException {
    if (server != null) {
      server.stop();
    }
  }

  @Override
  protected StateBackend createBackend(MutableClock clock) {
    return server.backend("kit-" + UUID.randomUUID() + ":").open();
  }

  @Override
  protected Duration ttl() {
    return Duration.ofMillis(600);
  }

  @Override
  protected Duration longTtl() {
    return Duration.ofMillis(1500);
  }

  @Override
  protected Duration margin() {
    return Duration.ofMillis(300);
  }

  @Override
  protected boolean realClock() {
    return true;
  }

  @Override
  protected Instant now() {
    return Instant.now(); // the same machine's clock as the Redis server's
  }

  /** Waits out {@code amount} of real time, plus the millisecond Redis's expiry check rounds to. */
  @Override
  protected void elapse(Duration amount) {
    long deadline = System.nanoTime() + amount.toNanos() + TimeUnit.MILLISECONDS.toNanos(1);
    long left;
    while ((left = deadline - System.nanoTime()) > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while letting time pass", e);
      }
    }
  }

  @Test
  void capabilities_areMultiNodePersistentWithDistributedLocksAndPubSub() {
    assertEquals(new StateCapabilities(true, true, true, true), backend.capabilities());
  }

  @Test
  void name_namesTheServerAndThePrefix() {
    assertTrue(backend.name().startsWith("redis://127.0.0.1:" + server.port() + "/0#kit-"),
        backend.name());
  }
}
