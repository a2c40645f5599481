package dev.buildnet.internal.master;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.internal.transport.InboundProbe;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.SessionTransport;
import dev.buildnet.internal.transport.TcpTransport;
import dev.buildnet.tck.StreamTransport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 over a host's transport ({@link StreamTransport}: plain sockets, a reader thread per
 * connection): a client that fires STATE_SETs without waiting while the state backend is stuck
 * cannot make the master hold what it sends. The session layer blocks the flooder's delivery
 * thread once the master holds its high-water mark plus one message, so the master's transport
 * stops reading that socket and the flooder's own writes back up; other connections are still
 * served, and every request is answered once the backend moves again.
 */
class MasterHostTransportBackPressureTest {
  static final Duration T = MasterBackPressureTest.T;
  static final long HIGH_WATER = MasterBackPressureTest.HIGH_WATER; // the default, as over TCP
  static final int VALUE = MasterBackPressureTest.VALUE;
  static final int FRAMES = MasterBackPressureTest.FRAMES;

  final CountDownLatch backendMayGo = new CountDownLatch(1);
  final List<AutoCloseable> closeAfter = new ArrayList<>();
  MasterServer master;

  @AfterEach
  void stop() throws Exception {
    backendMayGo.countDown();
    if (master != null) {
      master.close();
    }
    for (int i = closeAfter.size() - 1; i >= 0; i--) {
      closeAfter.get(i).close();
    }
  }

  @Test
  void aClientFloodingStateSetsOverAHostTransportWhileTheBackendIsStuckIsNotRead()
      throws Exception {
    StreamTransport masterCarrier = carrier();
    master = MasterServer.builder()
        .state(new GatedStateBackend(InMemoryStateBackend.create(), backendMayGo))
        .transport(MasterBackPressureTest.settings(null).build())
        .carrier(masterCarrier)
        .start();
    StreamTransport floodCarrier = carrier();
    Session out = client(floodCarrier, "flooder")
        .connect(master.localAddress(), T, (c, m) -> {});

    byte[] value = new byte[VALUE];
    List<CompletableFuture<Message>> replies = new ArrayList<>();
    for (int i = 0; i < FRAMES; i++) {
      // One key: the in-memory backend keeps one value, not 64 MiB, once it moves again.
      replies.add(out.request(new StateSet("k", value, null), T));
    }

    Object served = master.transport();
    Session in = InboundProbe.awaitValue(
        () -> InboundProbe.sessionTo(served, "flooder").orElse(null), "the master's side");
    long bound = HIGH_WATER + VALUE + 1024; // the high-water mark plus one message
    AtomicLong mostHeld = new AtomicLong();
    InboundProbe.await(() -> {
      mostHeld.accumulateAndGet(InboundProbe.heldBytes(in), Math::max);
      return InboundProbe.deliveryBlocked(in);
    }, "the master's delivery of the flooder's messages blocks");

    assertTrue(in.isOpen(), "the master closed the blocked connection: " + in);
    assertTrue(mostHeld.get() <= bound,
        "the master held " + mostHeld.get() + " bytes for one connection, over " + bound);
    long unsent = (FRAMES - floodCarrier.framesSent.get()) * (long) VALUE;
    assertTrue(unsent > 8L << 20, "the flooder's own queue should hold what the master did not"
        + " read, but only about " + unsent + " bytes of it are unwritten");

    Message answer = client(carrier(), "other").connect(master.localAddress(), T, (c, m) -> {})
        .request(new StateGet("nothing-here"), T).get(T.toSeconds(), TimeUnit.SECONDS);
    assertFalse(assertInstanceOf(StateResponse.class, answer.payload()).found());
    assertTrue(InboundProbe.deliveryBlocked(in), "unblocked though the backend is stuck");

    backendMayGo.countDown();
    for (CompletableFuture<Message> reply : replies) {
      Message m = reply.get(T.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(StateResponse.class, m.payload(), m.type() + " " + m.payload());
    }
    InboundProbe.await(
        () -> InboundProbe.heldBytes(in) == 0 && !InboundProbe.deliveryBlocked(in),
        "the backlog drained and the master reads again");
    assertTrue(mostHeld.get() <= bound, "held " + mostHeld.get() + " bytes, over " + bound);
    assertArrayEquals(value, ((StateResponse) out.request(new StateGet("k"), T)
        .get(T.toSeconds(), TimeUnit.SECONDS).payload()).value());
  }

  StreamTransport carrier() {
    StreamTransport t = new StreamTransport(MessageCodec.standard());
    closeAfter.add(t);
    return t;
  }

  /** A client's session layer over {@code carrier}, closed after the test. */
  SessionTransport client(StreamTransport carrier, String id) {
    SessionTransport t = TcpTransport.builder()
        .transport(MasterBackPressureTest.settings(null).build()).localId(id).build(carrier);
    closeAfter.add(t);
    return t;
  }
}
