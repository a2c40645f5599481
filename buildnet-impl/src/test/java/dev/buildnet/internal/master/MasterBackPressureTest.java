package dev.buildnet.internal.master;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.internal.transport.InboundProbe;
import dev.buildnet.internal.transport.InlineHandler;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
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
 * Bounded under attack (issue 11): a client that fires STATE_SETs without waiting while the state
 * backend is stuck cannot make the master hold what it sends. The master holds at most its
 * high-water mark plus one frame for the connection and stops reading it (the client's own outbox
 * grows instead), does not idle-time it out while it is the slow side, keeps serving other
 * connections, and answers every request once the backend moves again.
 */
class MasterBackPressureTest {
  static final byte[] SECRET = "back-pressure test secret, 16+ bytes".getBytes(UTF_8);
  static final Duration T = Duration.ofSeconds(120);
  // Short, yet 3 s rather than 1 s: the idle timeout also runs while the peer's frames are flowing
  // (it needs a whole frame per timeout), and at load 15-20 on two cores TLS frames of 64 KiB
  // arrived more than a second apart.
  static final Duration IDLE = Duration.ofSeconds(3);
  static final long HIGH_WATER = 16L << 20; // the transport's default
  // 64 MiB in frames of 64 KiB: more than the high-water mark plus what loopback's socket buffers
  // can hide (up to 32 + 4 MiB here), in frames small enough that one arrives well within the
  // short idle timeout even on a cold JVM's TLS under heavy load (1 MiB ones took over 1 s).
  static final int VALUE = 64 << 10;
  static final int FRAMES = 1024;

  @TempDir Path dir;
  final CountDownLatch backendMayGo = new CountDownLatch(1);
  final List<AutoCloseable> closeAfter = new ArrayList<>();
  MasterServer master;

  @AfterEach
  void stop() throws Exception {
    backendMayGo.countDown();
    for (AutoCloseable c : closeAfter) {
      c.close();
    }
    if (master != null) {
      master.close();
    }
  }

  @Test
  void aClientFloodingStateSetsWhileTheBackendIsStuckIsNotRead() throws Exception {
    floodWhileTheBackendIsStuck(null);
  }

  @Test
  void aClientFloodingStateSetsWhileTheBackendIsStuckIsNotRead_overTls() throws Exception {
    floodWhileTheBackendIsStuck(InboundProbe.selfSignedTls(dir.resolve("master.p12")));
  }

  void floodWhileTheBackendIsStuck(SSLContext tls) throws Exception {
    master = MasterServer.builder()
        .state(new GatedStateBackend(InMemoryStateBackend.create(), backendMayGo))
        .transport(settings(tls).heartbeatTimeout(IDLE).build()) // the master's idle timeout
        .start();
    Object served = master.transport();
    TcpTransport flooder = client(tls, "flooder", 2L * FRAMES * VALUE);
    PeerConnection out = flooder.connect(master.localAddress(), T, (InlineHandler) (c, m) -> {});

    byte[] value = new byte[VALUE];
    List<CompletableFuture<Message>> replies = new ArrayList<>();
    for (int i = 0; i < FRAMES; i++) {
      // One key: the in-memory backend keeps one value, not 64 MiB, once it moves again.
      replies.add(out.request(new StateSet("k", value, null), T));
    }

    PeerConnection in = InboundProbe.awaitValue(
        () -> InboundProbe.connectionTo(served, "flooder").orElse(null), "the master's side");
    long bound = HIGH_WATER + VALUE + 1024; // the high-water mark plus one frame
    AtomicLong mostHeld = new AtomicLong();
    InboundProbe.await(() -> {
      mostHeld.accumulateAndGet(InboundProbe.inboundBytes(in), Math::max);
      return InboundProbe.readPaused(in);
    }, "the master stops reading the flooder");
    long pausedAt = System.nanoTime();
    // No frame was read after pausedAt, so the deadline was at most pausedAt + IDLE: a sweep after
    // that would have closed the connection had the pause not suspended the deadline.
    InboundProbe.await(() -> {
      mostHeld.accumulateAndGet(InboundProbe.inboundBytes(in), Math::max);
      return InboundProbe.lastSweepNanos(served) - pausedAt > IDLE.toNanos() * 3 / 2;
    }, "an idle sweep more than an idle timeout after the pause");

    assertTrue(in.isOpen(), "the master closed the paused connection: " + in);
    assertTrue(InboundProbe.readPaused(in), "resumed though the backend is stuck");
    assertTrue(mostHeld.get() <= bound,
        "the master held " + mostHeld.get() + " bytes for one connection, over " + bound);
    long unsent = InboundProbe.outboxBytes(out);
    assertTrue(unsent > 8L << 20,
        "the flooder's outbox should hold what the master did not read, but holds " + unsent);

    TcpTransport other = client(tls, "other", 64L << 20);
    Message answer = other.connect(master.localAddress(), T, (InlineHandler) (c, m) -> {})
        .request(new StateGet("nothing-here"), T).get(T.toSeconds(), TimeUnit.SECONDS);
    assertFalse(assertInstanceOf(StateResponse.class, answer.payload()).found());
    assertTrue(InboundProbe.readPaused(in), "resumed though the backend is stuck");

    backendMayGo.countDown();
    for (CompletableFuture<Message> reply : replies) {
      Message m = reply.get(T.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(StateResponse.class, m.payload(), m.type() + " " + m.payload());
    }
    InboundProbe.await(() -> InboundProbe.inboundBytes(in) == 0 && !InboundProbe.readPaused(in),
        "the backlog drained and the master reads again");
    assertTrue(mostHeld.get() <= bound, "held " + mostHeld.get() + " bytes, over " + bound);
    assertArrayEquals(value, ((StateResponse) out.request(new StateGet("k"), T)
        .get(T.toSeconds(), TimeUnit.SECONDS).payload()).value());
  }

  static TransportSettings.Builder settings(SSLContext tls) {
    TransportSettings.Builder s = TransportSettings.builder().secret(SECRET);
    return tls == null ? s : s.tls(tls);
  }

  /** A client transport, closed after the test; heartbeats often enough for the master's IDLE. */
  TcpTransport client(SSLContext tls, String id, long maxQueuedBytes) {
    TcpTransport t = TcpTransport.builder().transport(settings(tls).build()).localId(id)
        .heartbeatInterval(IDLE.dividedBy(4))
        .maxQueuedBytes(maxQueuedBytes)
        .build();
    closeAfter.add(t);
    return t;
  }
}
