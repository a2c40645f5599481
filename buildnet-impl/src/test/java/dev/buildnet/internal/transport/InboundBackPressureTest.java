package dev.buildnet.internal.transport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer that sends faster than a handler that is not inline handles them (it runs on the
 * connection's serial executor) makes the listener stop reading it once the frames waiting for the
 * handler pass the high-water mark, instead of holding everything it sends; the connection is not
 * idle-timed out meanwhile, other connections are served, and everything is answered once the
 * handler catches up. Plaintext and TLS.
 */
class InboundBackPressureTest {
  static final byte[] SECRET = TcpTransportTest.SECRET;
  static final Duration T = Duration.ofSeconds(120);
  // Short, yet 3 s rather than 1 s: the idle timeout also runs while the peer's frames are flowing
  // (it needs a whole frame per timeout), and at load 15-20 on two cores TLS frames of 64 KiB
  // arrived more than a second apart.
  static final Duration IDLE = Duration.ofSeconds(3);
  static final long HIGH_WATER = 256 << 10;
  static final int VALUE = 64 << 10;
  // 64 MiB: more than loopback's socket buffers (up to 32 MiB + 4 MiB here) can hide.
  static final int FRAMES = 1024;

  @TempDir Path dir;
  final CountDownLatch handlerMayGo = new CountDownLatch(1);
  final List<AutoCloseable> closeAfter = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    handlerMayGo.countDown();
    for (AutoCloseable c : closeAfter) {
      c.close();
    }
  }

  @Test
  void aBlockedHandlerStopsTheReadingOfItsConnectionOnly() throws Exception {
    floodWhileTheHandlerIsBlocked(null);
  }

  @Test
  void aBlockedHandlerStopsTheReadingOfItsConnectionOnly_overTls() throws Exception {
    floodWhileTheHandlerIsBlocked(SelfSignedTls.context(dir.resolve("bp.p12")));
  }

  /** Not inline: runs on the connection's serial executor; STATE_SET waits for the latch. */
  void handle(Transport.Connection c, Message m) {
    PeerConnection p = PeerConnection.of(c);
    if (m.payload() instanceof StateSet set) {
      try {
        handlerMayGo.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      p.send(new StateResponse(m.id(), true, set.key().getBytes(UTF_8)));
    } else if (m.payload() instanceof StateGet get) {
      p.send(new StateResponse(m.id(), true, get.key().getBytes(UTF_8)));
    }
  }

  void floodWhileTheHandlerIsBlocked(SSLContext tls) throws Exception {
    TcpTransport server = transport(tls, "listener")
        .idleTimeout(IDLE)
        .inboundHighWaterBytes(HIGH_WATER)
        .build();
    closeAfter.add(server);
    InetSocketAddress address = server.listen(0, c -> this::handle).localAddress();
    TcpTransport flooder = transport(tls, "flooder").maxQueuedBytes(2L * FRAMES * VALUE).build();
    closeAfter.add(flooder);
    PeerConnection out = flooder.connect(address, T, (InlineHandler) (c, m) -> {});

    byte[] value = new byte[VALUE];
    List<CompletableFuture<Message>> replies = new ArrayList<>();
    for (int i = 0; i < FRAMES; i++) {
      replies.add(out.request(new StateSet("k" + i, value, null), T));
    }

    PeerConnection in = InboundProbe.awaitValue(() -> InboundProbe.connectionTo(server, "flooder").orElse(null),
        "the listener's side of the connection");
    long bound = HIGH_WATER + VALUE + 1024; // the high-water mark plus one frame
    AtomicLong mostHeld = new AtomicLong();
    InboundProbe.await(() -> {
      mostHeld.accumulateAndGet(in.inboundBytes(), Math::max);
      return in.readPaused();
    }, "reading paused");
    long pausedAt = System.nanoTime();
    // No frame was read after pausedAt, so the deadline was at most pausedAt + IDLE: a sweep after
    // that would have closed the connection had the pause not suspended the deadline.
    InboundProbe.await(() -> {
      mostHeld.accumulateAndGet(in.inboundBytes(), Math::max);
      return server.lastSweepNanos() - pausedAt > IDLE.toNanos() * 3 / 2;
    }, "an idle sweep more than an idle timeout after the pause");

    assertTrue(in.isOpen(), "closed while paused: " + in);
    assertTrue(in.readPaused(), "resumed though the handler is blocked");
    assertTrue(mostHeld.get() <= bound,
        "held " + mostHeld.get() + " bytes, over the high-water mark plus a frame: " + bound);
    assertTrue(out.queuedBytes() > 16L << 20,
        "the flooder's own outbox should hold what the listener did not read, but holds "
            + out.queuedBytes());

    TcpTransport other = transport(tls, "other").build();
    closeAfter.add(other);
    Message answer = other.connect(address, T, (InlineHandler) (c, m) -> {})
        .request(new StateGet("still-served"), T).get(T.toSeconds(), TimeUnit.SECONDS);
    assertArrayEquals("still-served".getBytes(UTF_8),
        assertInstanceOf(StateResponse.class, answer.payload()).value());
    assertTrue(in.readPaused(), "resumed though the handler is blocked");

    handlerMayGo.countDown();
    for (int i = 0; i < FRAMES; i++) {
      Message reply = replies.get(i).get(T.toSeconds(), TimeUnit.SECONDS);
      assertArrayEquals(("k" + i).getBytes(UTF_8),
          assertInstanceOf(StateResponse.class, reply.payload()).value());
    }
    InboundProbe.await(() -> in.inboundBytes() == 0 && !in.readPaused(), "the backlog drained and reading on");
    assertTrue(mostHeld.get() <= bound, "held " + mostHeld.get() + " bytes, over " + bound);
  }

  static TcpTransport.Builder transport(SSLContext tls, String id) {
    TransportSettings.Builder s = TransportSettings.builder().secret(SECRET);
    if (tls != null) {
      s.tls(tls);
    }
    // Heartbeats often enough for the listener's IDLE whenever a client has nothing else to send.
    return TcpTransport.builder().transport(s.build()).localId(id)
        .heartbeatInterval(IDLE.dividedBy(4));
  }
}
