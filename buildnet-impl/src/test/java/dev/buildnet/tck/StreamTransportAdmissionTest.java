package dev.buildnet.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import dev.buildnet.internal.transport.SessionTransport;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The session layer over a host's transport ({@link StreamTransport} here) admits connections
 * under the same caps as the TCP transport: unauthenticated sessions per address and in all (the
 * oldest is closed to let a new one in), and connections per address. Real loopback sockets; a
 * raw peer that sends HELLO and stops after the AUTH_CHALLENGE holds an unauthenticated session.
 */
class StreamTransportAdmissionTest {
  private static final byte[] SECRET =
      "stream-admission-secret-0123456789".getBytes(StandardCharsets.UTF_8);
  // A handshake timeout far beyond the test: a half-way session is closed by the caps, never by it.
  private static final TransportSettings SETTINGS = TransportSettings.builder().secret(SECRET)
      .handshakeTimeout(Duration.ofMinutes(10)).build();
  private static final InetSocketAddress ANY_PORT =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  private static final MessageCodec CODEC = MessageCodec.standard();

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    open.add(c);
    return c;
  }

  private Transport.Listener master(TcpTransport.Builder caps) throws IOException {
    StreamTransport carrier = track(new StreamTransport(CODEC));
    SessionTransport master = track(caps.transport(SETTINGS).localId("master").build(carrier));
    return track(master.listen(ANY_PORT, c -> new Transport.Connection.Handler() {
      @Override
      public void onMessage(Transport.Connection connection, Message m) {}
    }));
  }

  private SessionTransport client(String id) {
    return track(TcpTransport.builder().transport(SETTINGS).localId(id).asClient()
        .build(track(new StreamTransport(CODEC))));
  }

  /** A socket whose session waits in its handshake: HELLO sent, AUTH_CHALLENGE read, no proof. */
  private Socket halfway(Transport.Listener l) throws IOException {
    Socket s = track(new Socket());
    s.connect(l.localAddress());
    Payloads.Hello hello = new Payloads.Hello("client", "raw-" + open.size(), 0,
        new byte[32], null, null, null);
    s.getOutputStream().write(CODEC.encode(new Message(Protocol.MAJOR, hello.type(), "h-1",
        System.currentTimeMillis(), Protocol.RUNTIME, hello)));
    assertEquals(MessageType.AUTH_CHALLENGE, CODEC.read(s.getInputStream()).type());
    return s;
  }

  private static void assertRefusedBusy(Socket s, String why) throws IOException {
    InputStream in = s.getInputStream();
    Message m = CODEC.read(in);
    Payloads.ErrorReply e = assertInstanceOf(Payloads.ErrorReply.class, m.payload());
    assertEquals(ErrorCode.BUSY.code(), e.code(), e.message());
    assertTrue(e.fatal());
    assertTrue(e.message().contains(why), e.message());
    assertNull(CODEC.read(in), "closed after the ERROR");
  }

  @Test
  void a_third_unauthenticated_connection_from_one_address_is_refused_BUSY() throws Exception {
    Transport.Listener l = master(TcpTransport.builder().maxUnauthenticatedPerAddress(2));
    halfway(l);
    halfway(l);

    Socket third = track(new Socket());
    third.connect(l.localAddress());

    assertRefusedBusy(third, "too many unauthenticated connections from");
  }

  @Test
  void at_the_cap_of_unauthenticated_sessions_the_oldest_makes_room_for_a_real_client()
      throws Exception {
    Transport.Listener l = master(TcpTransport.builder().maxUnauthenticated(2));
    Socket oldest = halfway(l);
    halfway(l);

    Transport.Connection c = client("real").connect(l.localAddress(), Duration.ofSeconds(30),
        (x, m) -> {});

    assertTrue(c.isOpen());
    assertRefusedBusy(oldest, "closing the oldest unauthenticated connection");
  }

  @Test
  void authenticated_sessions_no_longer_count_against_the_unauthenticated_caps() throws Exception {
    Transport.Listener l = master(TcpTransport.builder().maxUnauthenticatedPerAddress(1));
    for (int i = 0; i < 3; i++) {
      assertTrue(client("c-" + i).connect(l.localAddress(), Duration.ofSeconds(30), (x, m) -> {})
          .isOpen());
    }
  }

  @Test
  void a_connection_over_the_cap_per_address_is_refused() throws Exception {
    Transport.Listener l = master(TcpTransport.builder().maxConnectionsPerAddress(2));
    client("a").connect(l.localAddress(), Duration.ofSeconds(30), (x, m) -> {});
    client("b").connect(l.localAddress(), Duration.ofSeconds(30), (x, m) -> {});

    IOException e = assertThrows(IOException.class,
        () -> client("c").connect(l.localAddress(), Duration.ofSeconds(30), (x, m) -> {}));

    assertTrue(e.getMessage().contains("too many connections from"), e.getMessage());
  }
}
