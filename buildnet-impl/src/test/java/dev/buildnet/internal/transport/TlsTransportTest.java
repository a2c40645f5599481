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
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS with a self-signed key store made by the JDK's keytool at test time. */
class TlsTransportTest {
  static final char[] PASSWORD = "changeit".toCharArray();
  static final Duration T = Duration.ofSeconds(10);

  @TempDir static Path dir;
  static SSLContext context;
  static TcpTransport server;
  static Transport.Listener listener;

  @BeforeAll
  static void start() throws Exception {
    Path store = dir.resolve("test.p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Process p =
        new ProcessBuilder(
                keytool.toString(), "-genkeypair", "-alias", "test", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
                "-keystore", store.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("keytool failed: " + out);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, PASSWORD);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASSWORD);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);

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
