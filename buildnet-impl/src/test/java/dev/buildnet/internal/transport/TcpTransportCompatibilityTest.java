package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.tck.TransportCompatibilityKit;
import java.nio.charset.StandardCharsets;

/** The transport kit against the built-in TCP transport (a master's and a client's, one secret). */
class TcpTransportCompatibilityTest extends TransportCompatibilityKit {
  private static final TransportSettings SETTINGS =
      TransportSettings.ofSecret("tcp-kit-secret-0123456789".getBytes(StandardCharsets.UTF_8));

  @Override
  protected Transport createListening() {
    return TcpTransport.builder().transport(SETTINGS).localId("kit-master").build();
  }

  @Override
  protected Transport createConnecting(Transport listening) {
    return TcpTransport.builder().transport(SETTINGS).localId("kit-client").asClient().build();
  }
}
