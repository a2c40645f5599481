package dev.buildnet.tck;

import dev.buildnet.api.transport.Transport;

/** The transport kit against the in-memory transport the seam test builds with. */
class InMemoryTransportCompatibilityTest extends TransportCompatibilityKit {
  @Override
  protected Transport createListening() {
    return new InMemoryTransport();
  }

  @Override
  protected Transport createConnecting(Transport listening) {
    return listening; // one instance is the whole "network"
  }
}
