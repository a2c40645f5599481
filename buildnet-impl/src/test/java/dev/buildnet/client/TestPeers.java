package dev.buildnet.client;

import dev.buildnet.internal.transport.Session;

/** Tests elsewhere send raw requests over a client's connection, which hosts cannot reach. */
public final class TestPeers {
  private TestPeers() {}

  public static Session connection(RemoteClient client) {
    return client.connection();
  }
}
