package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS listener runs on the selector loop like a plaintext one: no thread per connection, the
 * same pre-authentication caps and handshake timeout for peers that stall inside the TLS
 * handshake, frames of any allowed size, and clean closes from either side or both at once. So
 * do the connections a TLS client opens: no thread each, and a connect timeout for a listener
 * that stalls inside the TLS handshake.
 */
class TlsOnTheLoopTest {
  static final byte[] SECRET = TcpTransportTest.SECRET;
  static final Duration T = Duration.ofSeconds(30);

  @TempDir static Path dir;
  static SSLContext context;

  TcpTransport server;
  final List<AutoCloseable> closeAfter = new ArrayList<>();

  /** Answers STATE_GET with the key and STATE_SET with the value itself. */
  static void echo(Transport.Connection c, Message m) {
    PeerConnection p = PeerConnection.of(c);
    if (m.payload() instanceof StateGet get) {
      p.send(new StateResponse(m.id(), true, get.key().getBytes(UTF_8)));
    } else if (m.payload() instanceof StateSet set) {
      p.send(new StateResponse(m.id(), true, set.value()));
    }
  }

  static final Transport.Acceptor ON_THE_POOL = c -> TlsOnTheLoopTest::echo;
  static final Transport.Acceptor INLINE = c -> (InlineHandler) TlsOnTheLoopTest::echo;

  @BeforeAll
  static void keyStore() throws Exception {
    context = SelfSignedTls.context(dir.resolve("loop.p12"));
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeAfter) {
      c.close();
    }
    if (server != null) {
      server.close();
    }
  }

  InetSocketAddress listen(TcpTransport.Builder b, Transport.Acceptor acceptor) throws IOException {
    return listen(b, tls().build(), acceptor);
  }

  InetSocketAddress listen(TcpTransport.Builder b, TransportSettings settings,
      Transport.Acceptor acceptor) throws IOException {
    server = b.transport(settings).localId("master-tls").build();
    return server.listen(0, acceptor).localAddress();
  }

  TcpTransport client(String id) {
    TcpTransport t = TcpTransport.builder().transport(tls().build()).localId(id).build();
    closeAfter.add(t);
    return t;
  }

  static TransportSettings.Builder tls() {
    return TransportSettings.builder().secret(SECRET).tls(context);
  }

  /** A TLS socket through its TLS handshake, nothing more. */
  SSLSocket tlsSocket(InetSocketAddress address) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket();
    closeAfter.add(s);
    s.connect(address, 10_000);
    s.setSoTimeout(30_000);
    s.startHandshake();
    return s;
  }

  Socket plainSocket(InetSocketAddress address) throws IOException {
    Socket s = new Socket();
    closeAfter.add(s);
    s.connect(address, 10_000);
    s.setSoTimeout(30_000);
    return s;
  }

  static void assertEcho(PeerConnection c, String key) throws Exception {
    Message reply = c.request(new StateGet(key), T).get(30, TimeUnit.SECONDS);
    assertArrayEquals(key.getBytes(UTF_8), ((StateResponse) reply.payload()).value());
  }

  /**
   * Whether the listener closed {@code s}: end of stream or a reset within 30 s, after at most a
   * TLS alert (which is all a peer still in the TLS handshake gets before the close).
   */
  static boolean closedByListener(Socket s) {
    try {
      byte[] alert = new byte[64];
      for (int n = 0; n < 1024; ) {
        int got = s.getInputStream().read(alert);
        if (got < 0) {
          return true;
        }
        n += got;
      }
      return false;
    } catch (IOException e) {
      return !(e instanceof java.net.SocketTimeoutException);
    }
  }

  static List<String> startedSince(Set<Thread> before) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive).filter(t -> !before.contains(t)).map(Thread::getName)
        .filter(n -> n.startsWith("buildnet-")).sorted().toList();
  }

  @Test
  void manyTlsConnections_takeNoThreadEach_andAreAllServed() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder(), INLINE);
    assertEcho(client("warm-up").connect(address, T, (c, m) -> {}), "warm");
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    List<RawPeer> peers = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      RawPeer raw = new RawPeer(tlsSocket(address));
      peers.add(raw);
      assertTrue(raw.handshake(SECRET, "w-" + i).accepted());
    }
    for (RawPeer raw : peers) {
      raw.send(new StateGet("k"));
    }
    for (RawPeer raw : peers) {
      assertArrayEquals("k".getBytes(UTF_8), ((StateResponse) raw.read().payload()).value());
    }
    // Only the pool of delegated TLS tasks may have grown, and it is bounded by the cores.
    List<String> started = startedSince(before);
    List<String> others = started.stream().filter(n -> !n.startsWith("buildnet-net-tls-")).toList();
    assertEquals(List.of(), others, "threads started for 200 TLS connections");
    assertTrue(started.size() <= Runtime.getRuntime().availableProcessors(),
        "TLS task threads: " + started);
    assertEquals(0, server.unauthenticatedCount());
  }

  @Test
  void tlsConnectionsThisSideOpens_takeNoThreadEach_andAreAllServed() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder(), INLINE);
    TcpTransport client = client("many");
    // The first connection starts the client transport's loop and timer: one each, for all.
    assertEcho(client.connect(address, T, (c, m) -> {}), "warm");
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    List<PeerConnection> mine = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      mine.add(client.connect(address, T, (c, m) -> {}));
    }
    for (PeerConnection c : mine) {
      assertEcho(c, "k");
    }
    // Only the two transports' pools of delegated TLS tasks may have grown, each bounded by the
    // cores; no reader or writer thread per connection.
    List<String> started = startedSince(before);
    List<String> others = started.stream().filter(n -> !n.startsWith("buildnet-net-tls-")).toList();
    assertEquals(List.of(), others, "threads started for 50 TLS connections this side opened");
    assertTrue(started.size() <= 2 * Runtime.getRuntime().availableProcessors(),
        "TLS task threads: " + started);
  }

  @Test
  void aTlsClient_whosePeerStallsMidHandshake_failsAtItsTimeoutWithOneClearLine() throws Exception {
    try (ServerSocket stalling = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Boolean> clientClosed = new CompletableFuture<>();
      Thread peer = new Thread(() -> {
        try (Socket s = stalling.accept()) {
          s.setSoTimeout(60_000);
          InputStream in = s.getInputStream();
          int first = in.read(); // the ClientHello arrives...
          // ...and is answered by half a TLS record (a handshake record's header and a few
          // bytes of a ServerHello), then nothing.
          s.getOutputStream().write(new byte[] {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00});
          s.getOutputStream().flush();
          byte[] buf = new byte[4096];
          while (in.read(buf) >= 0) {
            // the rest of the ClientHello; then the client's close
          }
          clientClosed.complete(first == 0x16);
        } catch (IOException e) {
          clientClosed.complete(!(e instanceof java.net.SocketTimeoutException));
        }
      });
      peer.setDaemon(true);
      peer.start();
      TcpTransport client = client("stalled");
      InetSocketAddress address =
          new InetSocketAddress(InetAddress.getLoopbackAddress(), stalling.getLocalPort());
      IOException e = assertThrows(IOException.class,
          () -> client.connect(address, Duration.ofSeconds(2), (c, m) -> {}));
      assertEquals("handshake with " + address + " failed: handshake not completed within PT2S",
          e.getMessage());
      assertTrue(clientClosed.get(60, TimeUnit.SECONDS), "the client closed the connection");
    }
  }

  @Test
  void peersStallingOrSendingGarbageInTheTlsHandshake_areDropped_andARealClientIsServed()
      throws Exception {
    InetSocketAddress address =
        listen(TcpTransport.builder(), tls().handshakeTimeout(Duration.ofSeconds(5)).build(),
            ON_THE_POOL);
    Socket silent = plainSocket(address); // connects, says nothing
    Socket halfHello = plainSocket(address); // a TLS record header, then nothing
    halfHello.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01});
    Socket garbage = plainSocket(address); // not TLS at all
    byte[] noise = new byte[4096];
    new Random(7).nextBytes(noise);
    noise[0] = 0x42;
    garbage.getOutputStream().write(noise);
    SSLSocket tlsOnly = tlsSocket(address); // through TLS, but never says HELLO
    UnauthenticatedPeersTest.await(() -> server.unauthenticatedCount() >= 3, "stalled peers held");

    PeerConnection legit = client("legit").connect(address, T, (c, m) -> {});
    assertEcho(legit, "served meanwhile");

    assertTrue(closedByListener(garbage), "garbage is dropped");
    assertTrue(closedByListener(silent), "a silent peer is dropped at the handshake timeout");
    assertTrue(closedByListener(halfHello), "a half ClientHello is dropped at the timeout");
    assertTrue(closedByListener(tlsOnly), "a peer stalling after TLS is dropped at the timeout");
    UnauthenticatedPeersTest.await(() -> server.unauthenticatedCount() == 0, "none held");
    assertEcho(legit, "still served");
  }

  @Test
  void peersStalledInTheTlsHandshake_countAgainstTheUnauthenticatedCap() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder().maxUnauthenticated(2), INLINE);
    Socket oldest = plainSocket(address);
    UnauthenticatedPeersTest.await(() -> server.unauthenticatedCount() == 1, "one held");
    Socket newer = plainSocket(address);
    newer.getOutputStream().write(new byte[] {0x16, 0x03, 0x01});
    UnauthenticatedPeersTest.await(() -> server.unauthenticatedCount() == 2, "two held");

    PeerConnection legit = client("legit").connect(address, T, (c, m) -> {});
    assertTrue(closedByListener(oldest), "the oldest makes room");
    assertEcho(legit, "in");
    assertTrue(server.unauthenticatedCount() <= 2);
  }

  @Test
  void tooManyUnauthenticatedTlsPeersFromOneAddress_theNextIsClosed() throws Exception {
    InetSocketAddress address =
        listen(TcpTransport.builder().maxUnauthenticatedPerAddress(2), INLINE);
    plainSocket(address);
    plainSocket(address);
    UnauthenticatedPeersTest.await(() -> server.unauthenticatedCount() == 2, "two held");
    assertTrue(closedByListener(plainSocket(address)), "the third is closed at once");
  }

  @Test
  void framesOfSeveralMiB_roundTripOverTls_fromTheLoopAndFromThePool() throws Exception {
    for (Transport.Acceptor acceptor : List.of(INLINE, ON_THE_POOL)) {
      InetSocketAddress address = listen(TcpTransport.builder(), acceptor);
      PeerConnection c = client("big").connect(address, T, (x, m) -> {});
      Random random = new Random(11);
      List<byte[]> values = new ArrayList<>();
      List<java.util.concurrent.CompletableFuture<Message>> replies = new ArrayList<>();
      for (int size : new int[] {6 << 20, 1, (3 << 20) + 12345, 15 << 20}) {
        byte[] v = new byte[size];
        random.nextBytes(v);
        values.add(v);
        replies.add(c.request(new StateSet("k", v, null, null, null), T)); // all in flight
      }
      for (int i = 0; i < values.size(); i++) {
        Message r = replies.get(i).get(60, TimeUnit.SECONDS);
        assertArrayEquals(values.get(i), ((StateResponse) r.payload()).value(), "frame " + i);
      }
      assertEcho(c, "small after large");
      c.close();
      server.close();
    }
  }

  @Test
  void bothSidesClosingAtOnce_closesEachOnceAndTheListenerCarriesOn() throws Exception {
    LinkedBlockingQueue<PeerConnection> accepted = new LinkedBlockingQueue<>();
    ConcurrentHashMap<PeerConnection, AtomicInteger> closes = new ConcurrentHashMap<>();
    InetSocketAddress address = listen(TcpTransport.builder(), c -> {
      accepted.add(PeerConnection.of(c));
      return new Transport.Connection.Handler() {
        @Override
        public void onMessage(Transport.Connection conn, Message m) {
          echo(conn, m);
        }

        @Override
        public void onClose(Transport.Connection conn, Throwable cause) {
          closes.computeIfAbsent(PeerConnection.of(conn), k -> new AtomicInteger()).incrementAndGet();
        }
      };
    });
    TcpTransport client = client("closer");
    for (int i = 0; i < 20; i++) {
      PeerConnection mine = client.connect(address, T, (x, m) -> {});
      assertEcho(mine, "before " + i);
      PeerConnection theirs = accepted.poll(30, TimeUnit.SECONDS);
      CountDownLatch go = new CountDownLatch(1);
      Thread other = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        theirs.close();
      });
      other.start();
      go.countDown();
      mine.close();
      other.join(30_000);
      assertFalse(other.isAlive(), "the listener's close returned");
      assertFalse(mine.isOpen());
      assertFalse(theirs.isOpen());
    }
    UnauthenticatedPeersTest.await(() -> closes.size() == 20, "every accepted connection closed");
    closes.forEach((c, n) -> assertEquals(1, n.get(), c + " closed once"));
    assertEcho(client.connect(address, T, (x, m) -> {}), "the listener carries on");
  }

  @Test
  void aClientsCloseNotify_endsTheConnectionCleanly() throws Exception {
    LinkedBlockingQueue<Object> causes = new LinkedBlockingQueue<>();
    InetSocketAddress address = listen(TcpTransport.builder(), c ->
        new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection conn, Message m) {
            echo(conn, m);
          }

          @Override
          public void onClose(Transport.Connection conn, Throwable cause) {
            causes.add(cause == null ? "clean" : cause);
          }
        });
    RawPeer raw = new RawPeer(tlsSocket(address));
    assertTrue(raw.handshake(SECRET, "w").accepted());
    raw.send(new StateGet("k"));
    assertArrayEquals("k".getBytes(UTF_8), ((StateResponse) raw.read().payload()).value());
    raw.close(); // SSLSocket.close sends close_notify
    assertEquals("clean", causes.poll(30, TimeUnit.SECONDS));
  }

  @Test
  void theListenersClose_reachesTheClient() throws Exception {
    LinkedBlockingQueue<PeerConnection> accepted = new LinkedBlockingQueue<>();
    InetSocketAddress address = listen(TcpTransport.builder(), c -> {
      accepted.add(PeerConnection.of(c));
      return TlsOnTheLoopTest::echo;
    });
    CountDownLatch closed = new CountDownLatch(1);
    PeerConnection mine = client("c").connect(address, T, new Transport.Connection.Handler() {
      @Override
      public void onMessage(Transport.Connection conn, Message m) {}

      @Override
      public void onClose(Transport.Connection conn, Throwable cause) {
        closed.countDown();
      }
    });
    assertEcho(mine, "k");
    accepted.poll(30, TimeUnit.SECONDS).close();
    assertTrue(closed.await(30, TimeUnit.SECONDS), "the client saw the close");
    assertEquals(0, server.unauthenticatedCount());
  }
}
