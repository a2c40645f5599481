package dev.buildnet.internal.transport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A connecting side that streams (a long upload, which gets no reply until its end) still sends
 * HEARTBEAT, so the HEARTBEAT_ACKs it gets back keep its own idle timeout from closing the
 * connection: it used to heartbeat only when it had sent nothing, and received nothing at all.
 */
class HeartbeatWhileSendingTest {
  static final byte[] SECRET = "a shared secret of enough bytes".getBytes(UTF_8);

  TcpTransport server;
  TcpTransport client;

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES) // a bound for a hang, not a measurement
  void aSideThatKeepsSendingAndHearsNothingStillHeartbeats() throws Exception {
    AtomicLong frames = new AtomicLong();
    AtomicInteger heartbeatsAmidFrames = new AtomicInteger();
    server = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("m").idleTimeout(Duration.ofMinutes(10))
        .heartbeatInterval(Duration.ofMillis(200)).build();
    Transport.Listener l = server.listen(0, c -> new InlineHandler() {
      @Override
      public void onMessage(Transport.Connection c2, Message m) {
        if (m.payload() instanceof Heartbeat) {
          if (frames.get() > 0) {
            heartbeatsAmidFrames.incrementAndGet();
          }
        } else {
          frames.incrementAndGet(); // never answered, like an upload's chunks before the last
        }
      }

      @Override
      public void onClose(Transport.Connection c2, Throwable cause) {}
    });
    client = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("c").asClient().idleTimeout(Duration.ofMinutes(10)).build();
    PeerConnection c = client.connect(l.localAddress(), Duration.ofSeconds(30), (x, m) -> {});
    byte[] data = new byte[1024];
    ArrayDeque<CompletableFuture<Void>> window = new ArrayDeque<>();
    // Send without pause until the listener has seen 10 HEARTBEATs among the frames: one per
    // interval now (2 s); before, one only after a pause in sending of half the interval, which a
    // loaded machine gives about twice a minute and an idle one never.
    for (long i = 0; heartbeatsAmidFrames.get() < 10; i++) {
      if (window.size() >= 64) {
        window.removeFirst().get(1, TimeUnit.MINUTES);
      }
      window.add(c.send(new BlobPut("t", i, data, false, null, null)));
    }
    assertTrue(c.isOpen());
  }
}
