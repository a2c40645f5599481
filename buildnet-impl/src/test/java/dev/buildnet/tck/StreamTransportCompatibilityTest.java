package dev.buildnet.tck;

import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.Transport;

/**
 * The transport kit against {@link StreamTransport}: two instances, as two processes would have,
 * whose frames cross real loopback sockets encoded and decoded by the public {@link MessageCodec}
 * alone.
 */
class StreamTransportCompatibilityTest extends TransportCompatibilityKit {
  @Override
  protected Transport createListening() {
    return new StreamTransport(MessageCodec.standard());
  }

  @Override
  protected Transport createConnecting(Transport listening) {
    return new StreamTransport(MessageCodec.standard());
  }
}
