package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS with a self-signed key store made by the JDK's keytool at test time. */
class TlsTransportTest {
  static final Duration T = Duration.ofSeconds(10);

  @TempDir static Path dir;
  static SSLContext context;
  static TcpTransport server;
  static Transport.Listener listener;

  @BeforeAll
  static void start() throws Exception {
    context = SelfSignedTls.context(dir.resolve("test.p12"));

    server =
        TcpTransport.builder().transport(tls()).localId("master-tls").build();
    listener =
        server.listen(
            0,
            c ->
                (conn, m) -> {
                  if (m.payload() instanceof StateGet g) {
                    PeerConnection.of(conn).send(new StateResponse(m.id(), true, g.key().getBytes(UTF_8)));
                  }
                });
  }

  static TransportSettings tls() {
    return TransportSettings.builder().secret(TcpTransportTest.SECRET).tls(context).build();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static void assertRoundTrip() throws Exception {
    try (TcpTransport client =
        TcpTransport.builder().transport(tls()).localId("c").build()) {
      PeerConnection c = client.connect(listener.localAddress(), T, (x, m) -> {});
      Message r = c.request(new StateGet("over tls"), T).get(10, TimeUnit.SECONDS);
      assertArrayEquals("over tls".getBytes(UTF_8), ((StateResponse) r.payload()).value());
      assertEquals("master-tls", c.peerId());
    }
  }

  @Test
  void handshakeAndRequest_workOverTls() throws Exception {
    assertRoundTrip();
  }

  @Test
  void plaintextClient_failsCleanlyAndTheListenerCarriesOn() throws Exception {
    try (TcpTransport plain =
        TcpTransport.builder().transport(TransportSettings.ofSecret(TcpTransportTest.SECRET)).localId("p").build()) {
      IOException e =
          assertThrows(IOException.class, () -> plain.connect(listener.localAddress(), T, (x, m) -> {}));
      assertEquals(true, e.getMessage().contains("handshake"), e.getMessage());
    }
    assertRoundTrip();
  }

  @Test
  void tlsClient_againstAPlaintextListener_failsCleanly() throws Exception {
    try (TcpTransport plainServer =
            TcpTransport.builder().transport(TransportSettings.ofSecret(TcpTransportTest.SECRET)).localId("m").build();
        TcpTransport tlsClient =
            TcpTransport.builder().transport(tls()).localId("c").build()) {
      Transport.Listener l = plainServer.listen(0, c -> (x, m) -> {});
      assertThrows(IOException.class, () -> tlsClient.connect(l.localAddress(), T, (x, m) -> {}));
    }
  }
}
