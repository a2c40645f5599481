package dev.buildnet.internal.master;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A worker for tests: connects, then heartbeats only when told to (no automatic heartbeats). */
final class FakeWorker implements AutoCloseable {
  static final Duration T = Duration.ofSeconds(10);

  final TcpTransport transport;
  final PeerConnection connection;
  final CompletableFuture<Throwable> closed = new CompletableFuture<>();

  FakeWorker(InetSocketAddress master, byte[] secret, String id, List<String> capabilities,
      long cpuSlots, long memoryMb) throws Exception {
    transport = TcpTransport.builder().transport(TransportSettings.ofSecret(secret)).localId(id)
        .asWorker(capabilities, cpuSlots, memoryMb).automaticHeartbeats(false).build();
    try {
      connection = transport.connect(master, T, new Transport.Connection.Handler() {
        @Override
        public void onMessage(Transport.Connection c, Message m) {}

        @Override
        public void onClose(Transport.Connection c, Throwable cause) {
          closed.complete(cause);
        }
      });
    } catch (Exception e) {
      transport.close();
      throw e;
    }
  }

  /** Sends HEARTBEAT and waits for the ack, so the master has recorded it on return. */
  void heartbeat(Long running) throws Exception {
    request(new Heartbeat(running));
  }

  Message request(Payload p) throws Exception {
    return connection.request(p, T).get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    transport.close();
  }
}
