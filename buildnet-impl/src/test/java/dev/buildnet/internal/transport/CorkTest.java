package dev.buildnet.internal.transport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A corked thread's batched requests to one connection leave in one write syscall when the cork
 * ends (the master's engine dispatching the attempts that results arriving together made room
 * for), in the order they were sent, and are never left unsent.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES) // a bound for a hang, not a measurement
class CorkTest {
  static final byte[] SECRET = "a shared secret of enough bytes".getBytes(UTF_8);

  TcpTransport server;
  TcpTransport client;
  Transport.Listener listener;
  PeerConnection c;
  final List<String> received = new CopyOnWriteArrayList<>();

  @BeforeEach
  void connect() throws Exception {
    // Idle timeouts (and so heartbeats) far beyond the test: the only frames are the test's.
    server = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("m").idleTimeout(Duration.ofMinutes(30)).build();
    listener = server.listen(0, x -> new InlineHandler() {
      @Override
      public void onMessage(Transport.Connection from, Message m) {
        received.add(((StateGet) m.payload()).key());
      }

      @Override
      public void onClose(Transport.Connection from, Throwable cause) {}
    });
    client = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("c").asClient().idleTimeout(Duration.ofMinutes(30)).build();
    c = client.connect(listener.localAddress(), Duration.ofSeconds(30), (x, m) -> {});
  }

  @AfterEach
  void stop() {
    while (Cork.corked()) {
      Cork.end(); // a failed test must not leave this (pooled) thread corked
    }
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void batchedRequestsOfACorkedThreadLeaveTogetherInOneWrite_whenTheCorkEnds() throws Exception {
    long before = c.writeCalls();
    Cork.begin();
    try {
      for (String k : List.of("a", "b", "c")) {
        c.requestBatched(new StateGet(k), Duration.ofMinutes(5));
      }
      assertEquals(before, c.writeCalls(), "nothing is written while the thread is corked");
      assertTrue(c.queuedBytes() > 0);
    } finally {
      Cork.end();
    }
    assertEquals(before + 1, c.writeCalls(), "the three frames leave in one write");
    assertEquals(0, c.queuedBytes());
    assertEquals(List.of("a", "b", "c"), awaitReceived(3));
  }

  @Test
  void aRequestTheCallerMayWaitFor_firstWritesWhatTheThreadHeldForOtherConnections()
      throws Exception {
    PeerConnection other = client.connect(listener.localAddress(), Duration.ofSeconds(30),
        (x, m) -> {});
    Cork.begin();
    try {
      c.requestBatched(new StateGet("held"), Duration.ofMinutes(5));
      assertTrue(c.queuedBytes() > 0);
      other.request(new StateGet("awaited"), Duration.ofMinutes(5));
      // Out before the cork ends: a corked thread that waits for the reply to a request (on any
      // connection) holds nothing back meanwhile, so nothing it waits on can wait on it.
      assertEquals(0, c.queuedBytes());
      assertEquals(0, other.queuedBytes());
      assertEquals(java.util.Set.of("held", "awaited"), java.util.Set.copyOf(awaitReceived(2)));
    } finally {
      Cork.end();
    }
  }

  @Test
  void aHeldFrameLeaves_whenTheCorkedWorkThrows() throws Exception {
    assertThrows(IllegalStateException.class, () -> {
      Cork.begin();
      try {
        c.requestBatched(new StateGet("before the failure"), Duration.ofMinutes(5));
        throw new IllegalStateException("the work between begin and end failed");
      } finally {
        Cork.end();
      }
    });
    assertFalse(Cork.corked());
    assertEquals(0, c.queuedBytes());
    assertEquals(List.of("before the failure"), awaitReceived(1));
  }

  @Test
  void nestedCorksWriteOnlyWhenTheOutermostEnds_andFlushWritesAtOnce() throws Exception {
    long before = c.writeCalls();
    Cork.begin();
    try {
      Cork.begin();
      c.requestBatched(new StateGet("1"), Duration.ofMinutes(5));
      Cork.end();
      assertEquals(before, c.writeCalls(), "an inner end leaves the write to the outer one");
      Cork.flush();
      assertEquals(before + 1, c.writeCalls());
      c.requestBatched(new StateGet("2"), Duration.ofMinutes(5));
      assertEquals(before + 1, c.writeCalls(), "still corked after a flush");
    } finally {
      Cork.end();
    }
    assertEquals(before + 2, c.writeCalls());
    assertEquals(List.of("1", "2"), awaitReceived(2));
  }

  @Test
  void aThreadThatIsNotCorkedWritesABatchedRequestAtOnce() throws Exception {
    long before = c.writeCalls();
    c.requestBatched(new StateGet("now"), Duration.ofMinutes(5));
    assertEquals(before + 1, c.writeCalls());
    assertEquals(List.of("now"), awaitReceived(1));
  }

  @Test
  void endWithoutBeginIsMisuse() {
    assertThrows(IllegalStateException.class, Cork::end);
  }

  /** Waits (bounded by the class's timeout) for {@code n} messages at the server. */
  private List<String> awaitReceived(int n) throws InterruptedException {
    while (received.size() < n) {
      Thread.sleep(5); // in flight on loopback; one that never arrives fails the timeout
    }
    return List.copyOf(received);
  }
}
