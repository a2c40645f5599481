package dev.buildnet.internal.transport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A sender thread writes its own frames until the socket fills, then leaves the rest to the
 * selector loop, which watches for the socket to drain (OP_WRITE) and stops watching once it has
 * written everything. When the sender's next stall came while the loop's "stop watching" was still
 * queued, the connection stopped writing for good (found as a 64 MiB upload that hung under load
 * until the master's idle timeout closed it). A receiver that reads in bursts, fast then slow,
 * makes the socket fill and drain thousands of times, so the two meet often: the old code hung in
 * about 1 run in 3 of a single connection.
 */
class WriteInterestRaceTest {
  static final byte[] SECRET = "a shared secret of enough bytes".getBytes(UTF_8);
  static final int CONNECTIONS = 1;
  static final int FRAMES = 5000;

  TcpTransport server;
  TcpTransport client;
  ExecutorService senders = Executors.newFixedThreadPool(CONNECTIONS);

  @AfterEach
  void stop() {
    senders.shutdownNow();
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES) // a bound for a hang, not a measurement
  void framesSentFromAnotherThreadAllLeave_whileTheSocketFillsAndDrainsOverAndOver() throws Exception {
    AtomicInteger received = new AtomicInteger();
    // Idle timeouts far beyond the test's bounds: a stuck writer must show as a stuck send, not be
    // hidden by a close that fails it.
    server = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("m").idleTimeout(Duration.ofMinutes(30)).build();
    Transport.Listener l = server.listen(0, c -> new InlineHandler() {
      int seen;
      long sink;

      @Override
      public void onMessage(Transport.Connection c2, Message m) {
        byte[] d = ((BlobPut) m.payload()).data();
        if ((seen++ / 16) % 2 == 0) { // 16 frames read slowly, then 16 at full speed
          for (int r = 0; r < 8; r++) {
            for (byte b : d) {
              sink += b;
            }
          }
        }
        received.incrementAndGet();
      }

      @Override
      public void onClose(Transport.Connection c2, Throwable cause) {}
    });
    client = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("c").asClient().idleTimeout(Duration.ofMinutes(30)).build();
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < CONNECTIONS; i++) {
      PeerConnection c = client.connect(l.localAddress(), Duration.ofSeconds(30), (x, m) -> {});
      done.add(senders.submit(() -> send(c)));
    }
    for (Future<?> f : done) {
      f.get(); // a send that never leaves fails inside send(), with which frame
    }
    assertEquals(CONNECTIONS * FRAMES, waitForAll(received));
  }

  /** Sends FRAMES frames with 8 in flight, as a blob upload does. */
  private static Void send(PeerConnection c) throws Exception {
    byte[] data = new byte[256 * 1024];
    ArrayDeque<CompletableFuture<Void>> window = new ArrayDeque<>();
    for (int i = 0; i < FRAMES; i++) {
      if (window.size() >= 8) {
        await(window.removeFirst(), i - 8);
      }
      window.add(c.send(new BlobPut("t", (long) i, data, false, null, null)));
    }
    int i = FRAMES - window.size();
    for (CompletableFuture<Void> f : window) {
      await(f, i++);
    }
    return null;
  }

  /** A bound, not a measurement: a healthy send leaves in milliseconds; a stuck one never. */
  private static void await(CompletableFuture<Void> sent, int frame) throws Exception {
    try {
      sent.get(2, TimeUnit.MINUTES);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("frame " + frame + " was never written: the connection stopped writing");
    }
  }

  private static int waitForAll(AtomicInteger received) throws InterruptedException {
    while (received.get() < CONNECTIONS * FRAMES) {
      Thread.sleep(10); // the last frames are in flight; a missing one fails the test's timeout
    }
    return received.get();
  }
}
