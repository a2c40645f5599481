package dev.buildnet.internal.transport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import dev.buildnet.tck.StreamTransport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The session layer over a host's transport ({@link StreamTransport}, real loopback sockets)
 * bounds what a handler holds for one connection by blocking that connection's delivery thread
 * past the high-water mark, until the backlog falls to half or the connection closes. The
 * handler here holds every message and hands them back only when a test says so.
 */
class FramedSessionBackPressureTest {
  private static final TransportSettings SETTINGS = TransportSettings.builder()
      .secret("framed back-pressure secret, 16+ bytes".getBytes(UTF_8)).build();
  private static final InetSocketAddress ANY_PORT =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  private static final Duration T = Duration.ofSeconds(60);
  private static final long HIGH_WATER = 64 << 10;
  private static final int VALUE = 8 << 10;
  // Four times the high-water mark: more than the listener holds before it blocks.
  private static final int MESSAGES = 32;

  private final List<AutoCloseable> open = new ArrayList<>();
  private final ConcurrentLinkedQueue<Runnable> held = new ConcurrentLinkedQueue<>();
  private final AtomicInteger delivered = new AtomicInteger();
  private StreamTransport listenerCarrier;
  private FramedTransport listener;
  private Transport.Listener listening;

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private <C extends AutoCloseable> C track(C c) {
    open.add(c);
    return c;
  }

  /** A listener whose handler holds every message it gets, and a client that sends it MESSAGES. */
  private FramedSession flooded() throws Exception {
    listenerCarrier = track(new StreamTransport(MessageCodec.standard()));
    listener = (FramedTransport) track(TcpTransport.builder().transport(SETTINGS)
        .localId("listener").inboundHighWaterBytes(HIGH_WATER).build(listenerCarrier));
    listening = track(listener.listen(ANY_PORT, c -> (connection, m) -> {
      held.add(Session.of(connection).holdInbound());
      delivered.incrementAndGet();
    }));
    SessionTransport client = track(TcpTransport.builder().transport(SETTINGS).localId("flooder")
        .build(track(new StreamTransport(MessageCodec.standard()))));
    Session out = client.connect(listening.localAddress(), T, (c, m) -> {});
    for (int i = 0; i < MESSAGES; i++) {
      out.send(new StateSet("k" + i, new byte[VALUE], null));
    }
    FramedSession in = InboundProbe.awaitValue(() -> listener.openSessions().stream()
        .filter(s -> "flooder".equals(s.peerId())).findFirst().orElse(null), "the listener's side");
    InboundProbe.await(() -> in.blockedThread() != null, "the delivery thread blocks");
    return in;
  }

  private static long messageBytes() {
    return VALUE + 1024; // the value plus a generous envelope
  }

  @Test
  void delivery_blocks_past_the_high_water_mark_and_resumes_at_half() throws Exception {
    FramedSession in = flooded();

    long heldAtBlock = in.heldBytes();
    assertTrue(heldAtBlock > HIGH_WATER, "blocked at " + heldAtBlock + " bytes held");
    assertTrue(heldAtBlock <= HIGH_WATER + messageBytes(),
        "held " + heldAtBlock + " bytes, over the high-water mark plus one message");
    assertEquals(held.size(), delivered.get());
    int atBlock = delivered.get();
    assertTrue(atBlock < MESSAGES, "all " + MESSAGES + " delivered while blocked");

    // Handing messages back while the backlog stays over half leaves the thread blocked: it is
    // woken only at the low-water mark (or a close), and neither has happened yet.
    while (in.heldBytes() - messageBytes() > HIGH_WATER / 2) {
      held.remove().run();
      assertNotNull(in.blockedThread(), "unblocked at " + in.heldBytes() + " bytes held");
    }
    while (in.heldBytes() > HIGH_WATER / 2) {
      held.remove().run();
    }
    InboundProbe.await(() -> delivered.get() > atBlock, "delivery resumes at the low-water mark");

    // The rest arrive as what is held is handed back; every message is delivered once.
    InboundProbe.await(() -> {
      for (Runnable r; (r = held.poll()) != null; ) {
        r.run();
      }
      return delivered.get() == MESSAGES && in.blockedThread() == null;
    }, "every message delivered");
    for (Runnable r; (r = held.poll()) != null; ) {
      r.run();
    }
    assertEquals(0, in.heldBytes());
    assertTrue(in.isOpen());
  }

  @Test
  void closing_the_session_releases_the_blocked_delivery_thread() throws Exception {
    FramedSession in = flooded();
    Thread blocked = in.blockedThread();

    in.close();

    // Nothing was handed back, so only the close can have woken it; the host transport's reader
    // then finds its socket closed and ends.
    InboundProbe.await(() -> !blocked.isAlive(), "the delivery thread " + blocked + " ends");
    assertNull(in.blockedThread());
    assertTrue(in.heldBytes() > HIGH_WATER / 2);
  }

  @Test
  void the_host_transport_closing_the_connection_releases_the_blocked_delivery_thread()
      throws Exception {
    FramedSession in = flooded();
    Thread blocked = in.blockedThread();

    // Closed underneath the session: the transport's onClose would come on the blocked thread.
    listenerCarrier.close();

    InboundProbe.await(() -> !blocked.isAlive(), "the delivery thread " + blocked + " ends");
    InboundProbe.await(() -> !in.isOpen(), "the session learns of the close");
    assertFalse(listener.openSessions().contains(in));
  }

  @Test
  void holdInbound_off_the_delivery_thread_is_refused() throws Exception {
    FramedSession in = flooded();

    IllegalStateException e = assertThrows(IllegalStateException.class, in::holdInbound);

    assertTrue(e.getMessage().contains("holdInbound() is for a handler's onMessage"),
        e.getMessage());
  }

  @Test
  void a_second_connection_is_delivered_while_the_first_is_blocked() throws Exception {
    FramedSession in = flooded();
    int before = delivered.get();
    SessionTransport other = track(TcpTransport.builder().transport(SETTINGS).localId("other")
        .build(track(new StreamTransport(MessageCodec.standard()))));

    other.connect(listening.localAddress(), T, (c, m) -> {}).send(new StateSet("x", new byte[1], null));

    InboundProbe.await(() -> delivered.get() == before + 1, "the other connection's message");
    assertNotNull(in.blockedThread(), "the flooder's delivery stays blocked");
  }
}
