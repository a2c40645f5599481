package dev.buildnet.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.FrameException;
import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.SessionTransport;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link StreamTransport} keeps the protocol's pre-handshake limit over real loopback sockets:
 * a peer that has not authenticated cannot make a connection take a frame over 64 KiB (its length
 * prefix is refused before any of its body is read), and once BuildNet's session layer has run
 * its handshake above the transport, frames up to the settings' maximum pass both ways.
 */
class StreamTransportHandshakeLimitTest {
  private static final long WAIT = 30;
  private static final TransportSettings SETTINGS = TransportSettings.ofSecret(
      "stream-limit-secret-0123456789".getBytes(StandardCharsets.UTF_8));
  private static final InetSocketAddress ANY_PORT =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

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

  private static Message message(Payload p) {
    return new Message(Protocol.MAJOR, p.type(), "m-" + System.nanoTime(),
        System.currentTimeMillis(), Protocol.RUNTIME, p);
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  /** Records a handler's messages and the cause its connection ended with. */
  private static final class Ends implements Transport.Connection.Handler {
    final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Throwable> closed = new CompletableFuture<>();

    @Override
    public void onMessage(Transport.Connection connection, Message message) {
      messages.add(message);
    }

    @Override
    public void onClose(Transport.Connection connection, Throwable cause) {
      closed.complete(cause == null ? new AssertionError("an orderly close") : cause);
    }

    Throwable cause() throws Exception {
      return closed.get(WAIT, TimeUnit.SECONDS);
    }

    Message next() throws InterruptedException {
      Message m = messages.poll(WAIT, TimeUnit.SECONDS);
      assertNotNull(m, "no message within " + WAIT + " s");
      return m;
    }
  }

  private static void assertTooLarge(Throwable cause) {
    FrameException e = assertInstanceOf(FrameException.class, cause);
    assertEquals(ErrorCode.FRAME_TOO_LARGE, e.reason());
    assertTrue(e.getMessage().contains("before the handshake completes"), e.getMessage());
  }

  @Test
  void a_raw_peer_declaring_50_MB_before_the_handshake_gets_FRAME_TOO_LARGE_and_is_closed()
      throws Exception {
    // A master's side: the session layer over a StreamTransport, as a host would run it.
    StreamTransport carrier = track(new StreamTransport(MessageCodec.standard()));
    SessionTransport master = track(TcpTransport.builder().transport(SETTINGS).localId("master")
        .build(carrier));
    Transport.Listener l = track(master.listen(ANY_PORT, c -> new Ends()));

    try (Socket raw = new Socket()) {
      raw.connect(l.localAddress());
      // One write: a claim of 50 MB and 3 bytes of it. The refusal can only come from the prefix.
      raw.getOutputStream().write(ByteBuffer.allocate(7).putInt(50_000_000).array());
      InputStream in = raw.getInputStream();

      Message m = MessageCodec.standard().read(in);

      assertEquals(MessageType.ERROR, m.type());
      Payloads.ErrorReply error = (Payloads.ErrorReply) m.payload();
      assertEquals(ErrorCode.FRAME_TOO_LARGE.code(), error.code());
      assertTrue(error.fatal());
      assertTrue(error.message().contains("50000000"), error.message());
      assertNull(MessageCodec.standard().read(in), "the connection closed after the ERROR");
    }
  }

  @Test
  void a_100_KiB_frame_before_authenticating_closes_the_connection_as_too_large()
      throws Exception {
    StreamTransport listening = track(new StreamTransport(MessageCodec.standard()));
    StreamTransport connecting = track(new StreamTransport(MessageCodec.standard()));
    Ends atServer = new Ends();
    Transport.Listener l = track(listening.listen(ANY_PORT, c -> atServer));
    Ends atClient = new Ends();
    Transport.Connection c = connecting.connect(l.localAddress(), Duration.ofSeconds(WAIT), atClient);

    c.send(message(new Payloads.StateSet("big", bytes(100 * 1024), null, null, null)));

    assertTooLarge(atServer.cause());
    assertNotNull(atClient.cause(), "the sending side's connection ended too");
    assertTrue(atServer.messages.isEmpty(), "nothing was delivered: " + atServer.messages);
  }

  @Test
  void after_authenticating_a_1_MiB_message_passes_both_ways() throws Exception {
    StreamTransport listening = track(new StreamTransport(MessageCodec.standard()));
    StreamTransport connecting = track(new StreamTransport(MessageCodec.standard()));
    Ends atServer = new Ends();
    CompletableFuture<Transport.Connection> accepted = new CompletableFuture<>();
    Transport.Listener l = track(listening.listen(ANY_PORT, c -> {
      accepted.complete(c);
      return atServer;
    }));
    Ends atClient = new Ends();
    Transport.Connection client =
        connecting.connect(l.localAddress(), Duration.ofSeconds(WAIT), atClient);
    Transport.Connection server = accepted.get(WAIT, TimeUnit.SECONDS);
    server.authenticated();
    client.authenticated();

    byte[] value = bytes(1 << 20);
    client.send(message(new Payloads.StateSet("up", value, null, null, null)));
    server.send(message(new Payloads.StateSet("down", value, null, null, null)));

    assertArrayEquals(value, ((Payloads.StateSet) atServer.next().payload()).value());
    assertArrayEquals(value, ((Payloads.StateSet) atClient.next().payload()).value());
    assertTrue(client.isOpen() && server.isOpen());
  }

  @Test
  void the_session_layer_lifts_the_limit_on_both_sides_once_its_handshake_is_through()
      throws Exception {
    // No test code calls authenticated() here: the handshake above the transport must.
    StreamTransport masterCarrier = track(new StreamTransport(MessageCodec.standard()));
    StreamTransport clientCarrier = track(new StreamTransport(MessageCodec.standard()));
    SessionTransport master = track(TcpTransport.builder().transport(SETTINGS).localId("master")
        .build(masterCarrier));
    SessionTransport client = track(TcpTransport.builder().transport(SETTINGS).localId("client")
        .asClient().build(clientCarrier));
    byte[] value = bytes(1 << 20);
    Transport.Listener l = track(master.listen(ANY_PORT, c -> new Transport.Connection.Handler() {
      @Override
      public void onMessage(Transport.Connection connection, Message m) {
        // Echo as large a message back: the master's side sends 1 MiB to the client.
        Payloads.StateSet up = (Payloads.StateSet) m.payload();
        ((Session) connection).send(((Session) connection).message(
            new Payloads.StateSet("down", up.value(), null, null, null)));
      }
    }));
    Ends atClient = new Ends();
    Session s = track(client.connect(l.localAddress(), Duration.ofSeconds(WAIT), atClient));

    s.send(s.message(new Payloads.StateSet("up", value, null, null, null)));

    Message echoed = atClient.next();
    assertEquals(MessageType.STATE_SET, echoed.type(), "got " + echoed);
    assertArrayEquals(value, ((Payloads.StateSet) echoed.payload()).value());
    assertTrue(s.isOpen());
  }
}
