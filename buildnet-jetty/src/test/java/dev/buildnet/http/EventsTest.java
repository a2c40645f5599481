package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventsTest {
  Fixture f;

  @BeforeAll
  void start() throws Exception {
    f = Fixture.withToken();
  }

  @AfterAll
  void stop() throws Exception {
    f.close();
  }

  /** A WebSocket client that queues every text message. */
  static class Messages implements WebSocket.Listener {
    final BlockingQueue<JsonNode> queue = new LinkedBlockingQueue<>();
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        try {
          queue.add(Http.JSON.readTree(partial.toString()));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        partial.setLength(0);
      }
      ws.request(1);
      return null;
    }

    /** The next message matching, skipping others; fails after 10 s. */
    JsonNode await(java.util.function.Predicate<JsonNode> p) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        JsonNode n = queue.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (n == null) {
          throw new AssertionError("no matching message within 10 s");
        }
        if (p.test(n)) {
          return n;
        }
      }
    }
  }

  static WebSocket connect(Fixture f, String query, Messages m) throws Exception {
    URI ws = URI.create("ws://127.0.0.1:" + f.http.port() + "/ws" + query);
    return f.client.newWebSocketBuilder().header("Authorization", "Bearer " + Fixture.TOKEN)
        .buildAsync(ws, m).get(10, TimeUnit.SECONDS);
  }

  static boolean is(JsonNode n, String kind, String buildId) {
    return n.path("kind").asText().equals(kind) && n.path("buildId").asText().equals(buildId);
  }

  @Test
  void webSocket_streamsLifecycleAndLogs_thenReplaysOnConnect() throws Exception {
    Messages live = new Messages();
    WebSocket ws = connect(f, "?logs=true", live);
    String id = f.submit("app");
    live.await(n -> is(n, "build_started", id));
    live.await(n -> is(n, "target_started", id) && n.get("target").asText().equals("lib"));
    JsonNode log = live.await(n -> is(n, "log", id) && n.get("target").asText().equals("lib"));
    assertEquals("hi from lib", log.get("line").asText());
    JsonNode done = live.await(n -> is(n, "build_finished", id));
    assertEquals("succeeded", done.get("status").asText());
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);

    Messages late = new Messages();
    WebSocket again = connect(f, "?build=" + id, late);
    late.await(n -> is(n, "build_started", id));
    late.await(n -> is(n, "target_finished", id) && n.get("target").asText().equals("app"));
    late.await(n -> is(n, "build_finished", id));
    again.abort();
  }

  @Test
  void webSocket_withoutToken_isRefused() {
    URI ws = URI.create("ws://127.0.0.1:" + f.http.port() + "/ws");
    java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
        java.util.concurrent.ExecutionException.class,
        () -> f.client.newWebSocketBuilder().buildAsync(ws, new Messages()).get(10, TimeUnit.SECONDS));
    assertEquals(401, ((java.net.http.WebSocketHandshakeException) e.getCause()).getResponse().statusCode());
  }

  @Test
  void serverSentEvents_streamTheBuild() throws Exception {
    HttpResponse<InputStream> r = f.client.send(
        f.authed("/events?logs=true&replay=false").timeout(java.time.Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      assertEquals(": connected", in.readLine());
      String id = f.submit("lib");
      List<String> kinds = new ArrayList<>();
      String line;
      while ((line = in.readLine()) != null) {
        if (line.startsWith("data: ")) {
          JsonNode n = Http.JSON.readTree(line.substring(6));
          if (n.path("buildId").asText().equals(id)) {
            kinds.add(n.get("kind").asText());
            if (n.get("kind").asText().equals("build_finished")) {
              break;
            }
          }
        }
      }
      assertEquals("build_started", kinds.get(0));
      assertTrue(kinds.contains("target_finished"), kinds.toString());
    }
  }

  @Test
  void slowClient_losesEventsInsteadOfBlockingTheBuild() {
    List<Runnable> pending = new ArrayList<>();
    EventPump.Writer stuck = new EventPump.Writer() {
      @Override
      public void write(String message, Runnable done, Consumer<Throwable> failed) {
        pending.add(done); // a client that never reads: the write never completes
      }

      @Override
      public void close() {}
    };
    AtomicLong droppedTotal = new AtomicLong();
    EventPump pump = new EventPump(stuck, 16, droppedTotal);
    for (int i = 0; i < 100; i++) {
      pump.offer("event " + i); // returns at once every time
    }
    assertEquals(1, pending.size());
    assertEquals(100 - 1 - 16, pump.dropped());
    assertEquals(pump.dropped(), droppedTotal.get());
    pending.get(0).run(); // the client catches up: the next queued one goes out
    assertEquals(2, pending.size());
  }

  @Test
  void eventPump_runsOnClose_evenWhenAWriteFailedBeforeItWasSet() {
    List<String> closes = new ArrayList<>();
    EventPump pump = new EventPump(new EventPump.Writer() {
      @Override
      public void write(String message, Runnable done, Consumer<Throwable> failed) {
        failed.accept(new java.io.IOException("client gone")); // e.g. during the replay
      }

      @Override
      public void close() {
        closes.add("writer");
      }
    }, 16, new AtomicLong());
    pump.offer("replayed event");
    pump.onClose(() -> closes.add("unsubscribed"));
    pump.close();
    assertEquals(List.of("writer", "unsubscribed"), closes);
  }

  @Test
  void eventPump_writesInOrder_whenWritesCompleteInline() {
    List<String> written = new ArrayList<>();
    EventPump pump = new EventPump(new EventPump.Writer() {
      @Override
      public void write(String message, Runnable done, Consumer<Throwable> failed) {
        written.add(message);
        done.run();
      }

      @Override
      public void close() {}
    }, 16, new AtomicLong());
    for (int i = 0; i < 1000; i++) {
      pump.offer(String.valueOf(i));
    }
    assertEquals(1000, written.size());
    assertEquals("999", written.get(999));
  }

  @Test
  void closingTheServer_endsOpenStreams() throws Exception {
    try (Fixture other = Fixture.withToken()) {
      CountDownLatch closed = new CountDownLatch(1);
      Messages m = new Messages() {
        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
          closed.countDown();
          return CompletableFuture.completedFuture(null);
        }
      };
      connect(other, "", m);
      other.http.close();
      assertTrue(closed.await(10, TimeUnit.SECONDS));
    }
  }
}
