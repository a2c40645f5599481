package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Auth;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.AuthChallenge;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Payloads.HelloAck;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Protocol;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real loopback sockets: the handshake, and abuse that must not disturb a healthy connection. */
class TcpTransportTest {
  static final byte[] SECRET = "a shared secret of enough bytes".getBytes(UTF_8);
  static final Duration T = Duration.ofSeconds(10);

  TcpTransport server;
  TcpTransport client;
  Transport.Listener listener;
  InetSocketAddress address;
  PeerConnection healthy;
  final ConcurrentLinkedQueue<Hello> hellos = new ConcurrentLinkedQueue<>();
  final CompletableFuture<Throwable> slowPeerClosed = new CompletableFuture<>();

  /** Answers STATE_GET with the key's bytes; "flood" makes it send 64 MiB at once. */
  final Transport.Acceptor echo =
      connection -> {
        hellos.add(PeerConnection.of(connection).peerHello());
        return new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection c, Message m) {
            if (m.payload() instanceof StateGet get) {
              PeerConnection p = PeerConnection.of(c);
              if (get.key().equals("flood")) {
                for (int i = 0; i < 64 && c.isOpen(); i++) {
                  p.send(new StateResponse(m.id(), true, new byte[1 << 20]));
                }
              } else {
                p.send(new StateResponse(m.id(), true, get.key().getBytes(UTF_8)));
              }
            }
          }

          @Override
          public void onClose(Transport.Connection c, Throwable cause) {
            if (cause != null && cause.getMessage() != null && cause.getMessage().contains("too slow")) {
              slowPeerClosed.complete(cause);
            }
          }
        };
      };

  /** Threads alive before this test's transports existed: other test classes' are not ours. */
  private java.util.Set<Thread> preexisting;

  @BeforeEach
  void start() throws Exception {
    preexisting = java.util.Set.copyOf(Thread.getAllStackTraces().keySet());
    server =
        TcpTransport.builder()
            .transport(TransportSettings.builder().secret(SECRET)
                .handshakeTimeout(Duration.ofMillis(1500)).build())
            .localId("master-1")
            .idleTimeout(Duration.ofMillis(1500))
            .maxQueuedBytes(4 << 20)
            .build();
    listener = server.listen(0, echo);
    address = listener.localAddress();
    client = workerTransport(SECRET).build();
    healthy = client.connect(address, T, (c, m) -> {});
  }

  static TcpTransport.Builder workerTransport(byte[] secret) {
    return TcpTransport.builder().transport(TransportSettings.ofSecret(secret)).localId("worker-1").asWorker(List.of("node"), 4, 8192);
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  void assertHealthy() throws Exception {
    Message reply = healthy.request(new StateGet("ping"), T).get(10, TimeUnit.SECONDS);
    assertArrayEquals("ping".getBytes(UTF_8), ((StateResponse) reply.payload()).value());
  }

  static void assertFatalError(RawPeer raw, ErrorCode code) throws IOException {
    Message m = raw.read();
    ErrorReply e = assertInstanceOf(ErrorReply.class, m.payload());
    assertEquals(code.code(), e.code(), e.message());
    assertTrue(e.fatal());
    assertTrue(raw.closedByPeer(), "the listener closes after a fatal error");
  }

  @Test
  void handshake_authenticatesBothSidesAndHandsTheHelloToTheAcceptor() throws Exception {
    assertHealthy();
    Hello hello = hellos.peek();
    assertEquals("worker", hello.role());
    assertEquals("worker-1", hello.peerId());
    assertEquals(List.of("node"), hello.capabilities());
    assertEquals(4L, hello.cpuSlots());
    assertEquals("master-1", healthy.peerId());
  }

  @Test
  void wrongSecret_isRefusedWithAReason() throws Exception {
    try (TcpTransport intruder = workerTransport("another secret, same length!".getBytes(UTF_8)).build()) {
      IOException e = assertThrows(IOException.class, () -> intruder.connect(address, T, (c, m) -> {}));
      assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
      assertTrue(e.getMessage().contains("AUTH_FAILED"), e.getMessage());
    }
    assertHealthy();
  }

  @Test
  void missingProof_isRefusedWithAReason() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      raw.send(new Hello("client", "c", 0, Auth.nonce(new SecureRandom()), null, null, null));
      assertInstanceOf(AuthChallenge.class, raw.read().payload());
      raw.send(new Heartbeat(null));
      HelloAck ack = (HelloAck) raw.read().payload();
      assertFalse(ack.accepted());
      assertEquals(ErrorCode.AUTH_FAILED.code(), ack.errorCode());
      assertTrue(ack.reason().contains("proof missing"), ack.reason());
      assertTrue(raw.closedByPeer());
    }
    assertHealthy();
  }

  @Test
  void listenerThatCannotProveTheSecret_isRejectedByTheConnectingSide() throws Exception {
    try (TcpTransport impostor =
            TcpTransport.builder().transport(TransportSettings.ofSecret("not the real secret at all!!".getBytes(UTF_8))).localId("m").build();
        TcpTransport victim = workerTransport(SECRET).build()) {
      // The impostor refuses the proof, so the victim learns nothing and fails either way.
      Transport.Listener l = impostor.listen(0, c -> (x, m) -> {});
      IOException e = assertThrows(IOException.class, () -> victim.connect(l.localAddress(), T, (c, m) -> {}));
      assertTrue(e.getMessage().contains("refused") || e.getMessage().contains("prove"), e.getMessage());
    }
  }

  @Test
  void oversizedLengthPrefix_getsAnErrorAndTheConnectionCloses() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      raw.sendBytes(HexFormat.of().parseHex("7fffffff"));
      assertFatalError(raw, ErrorCode.FRAME_TOO_LARGE);
    }
    assertHealthy();
  }

  @Test
  void oversizedFrameAfterTheHandshake_getsAnErrorAndTheConnectionCloses() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      assertTrue(raw.handshake(SECRET, "w-abuse").accepted());
      raw.sendBytes(ByteBuffer.allocate(4).putInt((16 << 20) + 1).array());
      assertFatalError(raw, ErrorCode.FRAME_TOO_LARGE);
    }
    assertHealthy();
  }

  @Test
  void truncatedFrameThenClose_isAnsweredWithBadFrame_andLeavesOthersWorking() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      assertTrue(raw.handshake(SECRET, "w-abuse").accepted());
      raw.sendBytes(HexFormat.of().parseHex("00000064" + "86a7766572"));
      raw.socket.shutdownOutput(); // it can still read why (docs/PROTOCOL.md, truncated_frame)
      assertFatalError(raw, ErrorCode.BAD_FRAME);
    }
    assertHealthy();
  }

  @Test
  void garbageBytes_getAnErrorAndTheConnectionCloses() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      assertTrue(raw.handshake(SECRET, "w-abuse").accepted());
      raw.sendBytes(HexFormat.of().parseHex("00000004c1c1c1c1"));
      assertFatalError(raw, ErrorCode.BAD_FRAME);
    }
    assertHealthy();
  }

  @Test
  void garbageInsteadOfHello_getsAnErrorAndTheConnectionCloses() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      raw.sendBytes("GET / HTTP/1.1\r\n\r\n".getBytes(UTF_8));
      assertFatalError(raw, ErrorCode.FRAME_TOO_LARGE); // "GET " read as a length prefix
    }
    assertHealthy();
  }

  @Test
  void aFrameTrickledOneByteAtATime_isAccepted() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      byte[] nonce = Auth.nonce(new SecureRandom());
      raw.trickle(raw.codec.encode(raw.message(1, new Hello("client", "slowpoke", 0, nonce, null, null, null))));
      Message challenge = raw.read();
      byte[] serverNonce = ((AuthChallenge) challenge.payload()).nonce();
      raw.trickle(raw.codec.encode(raw.message(1,
          new dev.buildnet.internal.protocol.Payloads.AuthProof(challenge.id(),
              Auth.clientProof(SECRET, serverNonce, nonce, "client", "slowpoke")))));
      assertTrue(((HelloAck) raw.read().payload()).accepted());
      Message get = raw.message(1, new StateGet("trickled"));
      raw.trickle(raw.codec.encode(get));
      StateResponse r = (StateResponse) raw.read().payload();
      assertEquals(get.id(), r.replyTo());
      assertArrayEquals("trickled".getBytes(UTF_8), r.value());
    }
    assertHealthy();
  }

  @Test
  void unknownMessageType_getsAnErrorAndTheConnectionStaysOpen() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      assertTrue(raw.handshake(SECRET, "w-future").accepted());
      // Envelope of type 0x99 with an empty payload, as a future minor version might send.
      byte[] body = HexFormat.of().parseHex(
          "86a776657273696f6e01a474797065cc99a26964a3782d31a974696d657374616d7000"
              + "a772756e74696d65a3726177a77061796c6f616480");
      raw.sendBytes(ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array());
      ErrorReply e = (ErrorReply) raw.read().payload();
      assertEquals(ErrorCode.UNKNOWN_TYPE.code(), e.code());
      assertEquals("x-1", e.replyTo());
      assertFalse(e.fatal());
      Message get = raw.send(new StateGet("still here"));
      assertEquals(get.id(), ((StateResponse) raw.read().payload()).replyTo());
    }
    assertHealthy();
  }

  @Test
  void idleConnection_isClosedAfterItsTimeout() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      assertTrue(raw.handshake(SECRET, "w-idle").accepted());
      ErrorReply e = (ErrorReply) raw.read().payload(); // arrives after 1.5 s of silence
      assertEquals(ErrorCode.TIMEOUT.code(), e.code());
      assertTrue(e.message().contains("idle"), e.message());
      assertTrue(raw.closedByPeer());
    }
    assertHealthy(); // kept alive by its heartbeats all along
  }

  @Test
  void silentConnection_isClosedAfterTheHandshakeTimeout() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      ErrorReply e = (ErrorReply) raw.read().payload();
      assertEquals(ErrorCode.TIMEOUT.code(), e.code());
      assertTrue(e.message().contains("handshake"), e.message());
      assertTrue(raw.closedByPeer());
    }
    assertHealthy();
  }

  @Test
  void newerMinorVersion_isAccepted() throws Exception {
    try (TcpTransport newer = workerTransport(SECRET).minorVersion(7).build()) {
      PeerConnection c = newer.connect(address, T, (x, m) -> {});
      assertEquals(Protocol.MINOR, c.minorVersion());
      Message r = c.request(new StateGet("k"), T).get(10, TimeUnit.SECONDS);
      assertInstanceOf(StateResponse.class, r.payload());
    }
    assertHealthy();
  }

  @Test
  void differentMajorVersion_isRefusedWithAReason() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      Message hello = raw.message(2, new Hello("client", "c2", 0, Auth.nonce(new SecureRandom()), null, null, null));
      raw.sendBytes(raw.codec.encode(hello));
      HelloAck ack = (HelloAck) raw.read().payload();
      assertFalse(ack.accepted());
      assertEquals(ErrorCode.UNSUPPORTED_VERSION.code(), ack.errorCode());
      assertTrue(ack.reason().contains("major version 2"), ack.reason());
      assertEquals(hello.id(), ack.replyTo());
      assertTrue(raw.closedByPeer());
    }
    assertHealthy();
  }

  @Test
  void peerThatDoesNotRead_isDisconnectedInsteadOfQueueingWithoutBound() throws Exception {
    try (RawPeer raw = new RawPeer(address)) {
      assertTrue(raw.handshake(SECRET, "w-slow").accepted());
      raw.socket.setReceiveBufferSize(4096);
      raw.send(new StateGet("flood")); // 64 MiB of replies it never reads
      Throwable cause = slowPeerClosed.get(10, TimeUnit.SECONDS);
      assertTrue(cause.getMessage().contains("too slow"), cause.getMessage());
    }
    assertHealthy();
  }

  @Test
  void requestWithoutReply_timesOut() throws Exception {
    // The echo handler ignores STATE_DELETE.
    CompletableFuture<Message> ignored =
        healthy.request(new dev.buildnet.internal.protocol.Payloads.StateDelete("x"), Duration.ofMillis(200));
    Exception e = assertThrows(Exception.class, () -> ignored.get(10, TimeUnit.SECONDS));
    assertInstanceOf(java.util.concurrent.TimeoutException.class, e.getCause());
    assertHealthy();
  }

  @Test
  void close_isIdempotentAndLeavesNoThread() throws Exception {
    assertHealthy();
    CompletableFuture<Throwable> closed = new CompletableFuture<>();
    PeerConnection other = client.connect(address, T, new Transport.Connection.Handler() {
      @Override
      public void onMessage(Transport.Connection c, Message m) {}

      @Override
      public void onClose(Transport.Connection c, Throwable cause) {
        closed.complete(cause);
      }
    });
    other.close();
    other.close();
    assertNull(closed.get(10, TimeUnit.SECONDS));
    client.close();
    server.close();
    server.close();
    assertFalse(healthy.isOpen());
    List<String> left =
        Thread.getAllStackTraces().keySet().stream()
            .filter(Thread::isAlive)
            .filter(t -> !preexisting.contains(t))
            .map(Thread::getName)
            .filter(n -> n.startsWith("buildnet-net"))
            .toList();
    assertEquals(List.of(), left);
  }
}
