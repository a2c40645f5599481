package dev.buildnet.internal.redis;

import dev.buildnet.tck.RedisServer;

import dev.buildnet.redis.RedisBlobStore;
import dev.buildnet.redis.RedisStateBackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Redis stopped and restarted under a backend and under a running build. */
class RedisOutageTest {
  private RedisServer server;
  private RedisStateBackend backend;
  @TempDir Path dir;

  @BeforeEach
  void start() throws Exception {
    server = RedisServer.start();
    backend = server.backend("outage:").open();
  }

  @AfterEach
  void stop() throws Exception {
    backend.close();
    server.stop();
  }

  @Test
  void whileRedisIsDown_callsFailClearlyAndQuickly_andRecoverWhenItReturns() throws Exception {
    backend.setString("k", "v");
    server.stop();
    long start = System.nanoTime();
    StateException e = assertThrows(StateException.class, () -> backend.get("k"));
    assertTrue(e.getMessage().contains("unreachable") && e.getMessage().contains("get of key 'k'"),
        e.getMessage());
    assertThrows(StateException.class, () -> backend.setString("k", "w"));
    assertThrows(StateException.class, () -> backend.acquireLock("r", Duration.ofSeconds(5), "me"));
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "failed, not hung");
    server.restart();
    // Within the back-off (at most 1 s) calls start succeeding again; Redis came back empty.
    assertEquals(Optional.empty(), eventually(() -> backend.getString("k")));
    backend.setString("k", "again");
    assertEquals(Optional.of("again"), backend.getString("k"));
  }

  @Test
  void subscription_isRestoredAfterARestart() throws Exception {
    CompletableFuture<String> received = new CompletableFuture<>();
    try (Subscription s = backend.subscribe("c",
        m -> received.complete(new String(m, StandardCharsets.UTF_8)))) {
      server.restart();
      // Messages published while the subscriber reconnects are lost (at-most-once): keep
      // publishing until one arrives, bounded.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!received.isDone() && System.nanoTime() < deadline) {
        try {
          backend.publish("c", "after".getBytes(StandardCharsets.UTF_8));
        } catch (StateException reconnecting) {
          // still down for this caller's back-off
        }
        try {
          received.get(100, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException notYet) {
          // publish again
        }
      }
      assertEquals("after", received.get(1, TimeUnit.SECONDS));
      assertEquals("c", s.channel());
    }
  }

  @Test
  void redisStoppedMidBuild_theTargetFailsClearly_andTheNextBuildRecovers() throws Exception {
    Path ws = Files.createDirectories(dir.resolve("ws"));
    Path runs = Files.createDirectories(dir.resolve("runs"));
    MasterMain.writeSources(ws);
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(MasterMain.graph(runs))
        .state(backend).sharedBlobs(RedisBlobStore.on(backend))
        .buildOnce(Duration.ofSeconds(2), Duration.ofSeconds(10)).localSlots(2).start()) {
      var build = net.build("all");
      awaitFile(runs.resolve("slow.runs"));
      server.stop(); // while slow runs, holding its build-once lease
      Files.createFile(runs.resolve("go"));
      BuildResult broken = build.get(60, TimeUnit.SECONDS);
      assertTrue(!broken.success());
      TargetOutcome slow = broken.target("slow").orElseThrow();
      assertEquals(TargetOutcome.Status.FAILED, slow.status());
      assertTrue(slow.reason().contains("unreachable"), slow.reason());

      server.restart();
      BuildResult healed = eventually(() -> {
        try {
          BuildResult r = net.build("all").get(60, TimeUnit.SECONDS);
          if (!r.success()) {
            throw new StateException("not yet: " + r.targets());
          }
          return r;
        } catch (Exception e) {
          throw new StateException("build failed: " + e, e);
        }
      });
      assertTrue(healed.success());
      assertEquals("slow\n", Files.readString(ws.resolve("out/slow.txt")));
      assertEquals(Files.readString(ws.resolve("out/0.txt")), "SOURCE 0\n");
    }
  }

  /** Retries {@code call} while it throws StateException, for up to 10 s. */
  private static <T> T eventually(Supplier<T> call) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        return call.get();
      } catch (StateException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        TimeUnit.MILLISECONDS.sleep(50); // the back-off window, bounded by the deadline
      }
    }
  }

  private static void awaitFile(Path file) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(file)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + file + " within 30 s");
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }
}
