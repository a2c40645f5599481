package dev.buildnet.client;

import dev.buildnet.tck.MutableClock;
import dev.buildnet.internal.master.MasterServer;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.StateException;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.tck.StateBackendCompatibilityKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The shared kit against {@link RemoteClient#state()}: a real {@link MasterServer} on loopback
 * over an in-memory backend that runs on the kit's clock, so TTL tests move the master's time.
 */
class RemoteStateBackendTest extends StateBackendCompatibilityKit {
  static final byte[] SECRET = "kit secret of sixteen+ bytes".getBytes(UTF_8);

  private InMemoryStateBackend masterState;
  private MasterServer master;
  private RemoteClient client;

  @Override
  protected StateBackend createBackend(MutableClock clock) {
    masterState = InMemoryStateBackend.builder().clock(clock).build();
    master = MasterServer.builder().state(masterState).transport(TransportSettings.ofSecret(SECRET)).id("kit-master").start();
    client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET)).clientId("kit").connect();
    return client.state();
  }

  @AfterEach
  void stopMaster() {
    client.close();
    master.close();
    masterState.close();
  }

  @Test
  void capabilities_areMultiNodeWithDistributedLocksAndNoPubSub() {
    assertEquals(new StateCapabilities(true, true, true, false), backend.capabilities());
    assertTrue(backend.name().startsWith("remote:"), backend.name());
  }

  @Test
  void writesThroughTheClient_areInTheMastersBackend() {
    backend.setString("k", "v");
    assertEquals("v", masterState.getString("k").orElseThrow());
  }

  @Test
  void masterGone_operationsFailWithUnreachableNamingTheAddress() {
    backend.setString("k", "v");
    master.close();
    String where = master.localAddress().getHostString() + ":" + master.localAddress().getPort();
    StateException read = assertThrows(StateException.class, () -> backend.get("k"));
    assertTrue(read.getMessage().contains("unreachable") && read.getMessage().contains(where),
        read.getMessage());
    StateException write = assertThrows(StateException.class, () -> backend.setString("k", "w"));
    assertTrue(write.getMessage().contains(where), write.getMessage());
  }

  @Test
  void lostConnection_theNextOperationConnectsAgain() {
    backend.setString("k", "v");
    client.connection().close(); // as if the network dropped it
    assertTrue(!client.isConnected());
    assertEquals("v", backend.getString("k").orElseThrow());
    assertTrue(client.isConnected());
  }
}
