package dev.buildnet.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.internal.protocol.Payloads.BlobGet;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.RemoteErrorException;
import dev.buildnet.internal.transport.TcpTransport;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/PROTOCOL.md, "Unsolicited replies": a known type the receiver does not serve gets ERROR
 * UNSUPPORTED (not fatal), so the sender learns at once instead of waiting for its timeout. A
 * client serves no request from its master; it once dropped them unanswered.
 */
class RemoteClientUnservedRequestsTest {
  private static final byte[] SECRET = "unserved requests secret, 16+ bytes".getBytes(UTF_8);
  private static final Duration T = Duration.ofSeconds(10);

  @ParameterizedTest
  @ValueSource(strings = {"STATE_GET", "BLOB_GET"})
  void aRequestFromTheMasterIsAnsweredUnsupported(String type) throws Exception {
    BlockingQueue<PeerConnection> accepted = new LinkedBlockingQueue<>();
    TcpTransport transport = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET))
        .localId("fake-master").build();
    try {
      Transport.Listener listener = transport.listen(0, c -> {
        accepted.add(PeerConnection.of(c));
        return new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection conn, Message m) {}
        };
      });
      try (RemoteClient client = RemoteClient.builder()
          .address("127.0.0.1", listener.localAddress().getPort())
          .transport(TransportSettings.ofSecret(SECRET)).clientId("c-1").connect()) {
        TestPeers.connection(client);
        PeerConnection master = accepted.poll(10, TimeUnit.SECONDS);
        assertNotNull(master, "the client did not connect");
        Payload request = type.equals("STATE_GET")
            ? new StateGet("k")
            : new BlobGet("xxh64:0000000000000000", null, null);
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> master.request(request, T).get(20, TimeUnit.SECONDS));
        RemoteErrorException error = assertInstanceOf(RemoteErrorException.class, e.getCause());
        assertEquals(ErrorCode.UNSUPPORTED, error.code().orElseThrow());
      }
    } finally {
      transport.close();
    }
  }
}
