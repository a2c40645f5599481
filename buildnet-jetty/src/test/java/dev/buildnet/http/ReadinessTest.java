package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class ReadinessTest {
  /**
   * A probe over an open connection (a load balancer's keep-alive) is answered by the thread that
   * reads it, so it needs no pool thread: it answers while the pool is exhausted by slow requests.
   * (Accepting a new connection takes a pool thread in Jetty, so the probe's is opened first.)
   */
  @Test
  void probes_answerOnAnOpenConnectionWhileEveryPoolThreadIsBusy() throws Exception {
    try (Fixture f = new Fixture(b -> b.token(Fixture.TOKEN).maxThreads(8));
        RawHttp probe = new RawHttp(f.http.port())) { // a read timeout fails the test
      assertEquals("200 ok\n", HotReloadTest.get(probe, "/health"));
      CountDownLatch release = new CountDownLatch(1);
      AtomicInteger inside = new AtomicInteger();
      f.http.mount("/block", new Handler.Abstract() { // blocking, so it takes a pool thread
        @Override
        public boolean handle(Request request, Response response, Callback callback)
            throws Exception {
          inside.incrementAndGet();
          release.await();
          response.setStatus(200);
          response.write(true, ByteBuffer.allocate(0), callback);
          return true;
        }
      });
      List<RawHttp> sockets = new ArrayList<>();
      ExecutorService clients = Executors.newCachedThreadPool();
      try {
        QueuedThreadPool pool = f.http.threadPool();
        List<Future<Integer>> blocked = new ArrayList<>();
        // More requests than the pool has threads: some hold every thread, the rest wait for one.
        for (int i = 0; i < 12; i++) {
          RawHttp raw = new RawHttp(f.http.port(), 60_000);
          sockets.add(raw);
          blocked.add(clients.submit(() -> raw.send("GET /block HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              + "Authorization: Bearer " + Fixture.TOKEN + "\r\n\r\n").status()));
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!(inside.get() > 0 && pool.getIdleThreads() == 0 && pool.getQueueSize() > 0)) {
          if (System.nanoTime() > deadline) {
            fail("the pool never ran out of threads: " + pool.dump());
          }
          Thread.sleep(10);
        }
        assertEquals("200 ok\n", HotReloadTest.get(probe, "/health"));
        assertEquals("200 ready\n", HotReloadTest.get(probe, "/ready"));
        release.countDown();
        for (Future<Integer> r : blocked) {
          assertEquals(200, r.get(60, TimeUnit.SECONDS));
        }
      } finally {
        release.countDown();
        clients.shutdownNow();
        for (RawHttp raw : sockets) {
          raw.close();
        }
      }
    }
  }

  @Test
  void ready_is503OnceTheEngineStopsAcceptingWork() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      assertEquals(200, f.send(f.request("/ready").GET()).statusCode());
      f.net.drain();
      HttpResponse<String> ready = f.send(f.request("/ready").GET());
      assertEquals(503, ready.statusCode());
      assertEquals("not ready: draining or closed\n", ready.body());
      assertEquals(200, f.send(f.request("/health").GET()).statusCode());
      assertEquals("not_accepting",
          Fixture.json(f.postJson("/api/builds", "{\"targets\":[\"lib\"]}")).get("code").asText());
    }
  }

  @Test
  void ready_is503WithTheReasonWhileWritesFail_andRecoversByItselfOnceTheyWork() throws Exception {
    try (FullDisk state = new FullDisk();
        Fixture f = new Fixture(state, net -> { }, b -> b.token(Fixture.TOKEN))) {
      assertEquals("ready\n", f.send(f.request("/ready").GET()).body());

      state.full = true;
      assertThrows(StateException.class, () -> state.setString("k", "v"));
      HttpResponse<String> ready = f.send(f.request("/ready").GET());
      assertEquals(503, ready.statusCode());
      assertEquals("not ready: " + FullDisk.WHY + "\n", ready.body());
      assertTrue(ready.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
      HttpResponse<String> health = f.send(f.request("/health").GET());
      assertEquals(200, health.statusCode(), "a full disk is no reason to restart: /health stays");
      assertEquals("ok\n", health.body());

      state.full = false; // space freed; nothing else writes: /ready's own probe notices
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (f.send(f.request("/ready").GET()).statusCode() != 200) {
        if (System.nanoTime() > deadline) {
          fail("/ready still 503 30 s after writes work again");
        }
        Thread.sleep(50);
      }
      assertEquals("ready\n", f.send(f.request("/ready").GET()).body());
    }
  }

  /**
   * An in-memory backend whose writes fail, as on a full disk, while {@link #full} is set; it
   * reports the failure through {@code writeFailure()} until a write succeeds, as the SQLite
   * backend does.
   */
  static final class FullDisk implements StateBackend {
    static final String WHY = "cannot write to fake:state: the disk holding /fake is full: 0 bytes free";
    private final StateBackend memory = StateBackend.inMemory();
    volatile boolean full;
    private volatile String failure;

    private <T> T write(java.util.function.Supplier<T> op) {
      if (full) {
        failure = WHY;
        throw new StateException(WHY);
      }
      T result = op.get();
      failure = null;
      return result;
    }

    @Override public Optional<String> writeFailure() {
      return Optional.ofNullable(failure);
    }

    @Override public String name() {
      return "fake:state";
    }

    @Override public StateCapabilities capabilities() {
      return memory.capabilities();
    }

    @Override public Optional<byte[]> get(String key) {
      return memory.get(key);
    }

    @Override public void set(String key, byte[] value) {
      write(() -> {
        memory.set(key, value);
        return null;
      });
    }

    @Override public void set(String key, byte[] value, Duration ttl) {
      write(() -> {
        memory.set(key, value, ttl);
        return null;
      });
    }

    @Override public boolean delete(String key) {
      return write(() -> memory.delete(key));
    }

    @Override public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
      return write(() -> memory.setIfAbsent(key, value, ttl));
    }

    @Override public boolean compareAndSet(String key, byte[] expected, byte[] update) {
      return write(() -> memory.compareAndSet(key, expected, update));
    }

    @Override public List<String> keys(String prefix) {
      return memory.keys(prefix);
    }

    @Override public long increment(String key, long delta) {
      return write(() -> memory.increment(key, delta));
    }

    @Override public Optional<Lock> acquireLock(String resource, Duration ttl, String owner) {
      return write(() -> memory.acquireLock(resource, ttl, owner));
    }

    @Override public Lock renew(Lock lock, Duration ttl) {
      return write(() -> memory.renew(lock, ttl));
    }

    @Override public void release(Lock lock) {
      write(() -> {
        memory.release(lock);
        return null;
      });
    }

    @Override public Subscription subscribe(String channel, Consumer<byte[]> listener) {
      return memory.subscribe(channel, listener);
    }

    @Override public void publish(String channel, byte[] message) {
      memory.publish(channel, message);
    }

    @Override public void close() {
      memory.close();
    }
  }
}
