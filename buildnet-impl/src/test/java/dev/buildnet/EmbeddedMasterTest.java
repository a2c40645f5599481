package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.client.RemoteClient;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A BuildNet given a listen address serves its state and locks to remote clients. */
class EmbeddedMasterTest {
  private static final byte[] SECRET = "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);

  @TempDir Path ws;

  private BuildNet.Builder builder() {
    return BuildNet.builder().workspace(ws)
        .targets(List.of(Target.builder("t").command("true").build()));
  }

  @Test
  void clientsUseTheHostsStateAndLocksThroughTheMaster() throws Exception {
    try (StateBackend state = StateBackend.inMemory();
        BuildNet net = builder().state(state).listen(new InetSocketAddress("127.0.0.1", 0))
            .transport(TransportSettings.ofSecret(SECRET)).start()) {
      MasterServer master = net.master().orElseThrow();
      assertTrue(master.localAddress().getAddress().isLoopbackAddress());
      try (RemoteClient a = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET))
              .clientId("a").connect();
          RemoteClient b = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET))
              .clientId("b").connect()) {
        a.state().setString("shared", "from a");
        assertEquals("from a", state.getString("shared").orElseThrow(), "written to the host's backend");
        assertEquals("from a", b.state().getString("shared").orElseThrow());

        Lock lock = a.state().acquireLock("deploy", Duration.ofMinutes(1), "a").orElseThrow();
        assertTrue(b.state().acquireLock("deploy", Duration.ofMinutes(1), "b").isEmpty());
        a.state().release(lock);
        Lock next = b.state().acquireLock("deploy", Duration.ofMinutes(1), "b").orElseThrow();
        assertTrue(next.fencingToken() > lock.fencingToken());
      }
    }
  }

  @Test
  void closingBuildNetStopsTheMaster() throws Exception {
    InetSocketAddress address;
    try (BuildNet net = builder().listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET))
        .start()) {
      address = net.master().orElseThrow().localAddress();
    }
    var e = assertThrows(StateException.class,
        () -> RemoteClient.builder().address(address).transport(TransportSettings.ofSecret(SECRET)).connect());
    assertTrue(e.getMessage().contains("unreachable"), e.getMessage());
  }

  @Test
  void withoutAListenAddressThereIsNoMaster() {
    try (BuildNet net = builder().start()) {
      assertFalse(net.master().isPresent());
    }
  }

  @Test
  void aMasterNeedsASecretAndASecretNeedsAMaster() {
    var noSecret = assertThrows(IllegalStateException.class,
        () -> builder().listen(new InetSocketAddress("127.0.0.1", 0)).start());
    assertTrue(noSecret.getMessage().contains("secret"), noSecret.getMessage());
    assertThrows(IllegalStateException.class, () -> builder().transport(TransportSettings.ofSecret(SECRET)).start());
    assertThrows(IllegalArgumentException.class, () -> builder().transport(TransportSettings.ofSecret(new byte[8])));
  }
}
