package dev.buildnet.client;

import dev.buildnet.internal.master.MasterServer;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.tck.BlobStoreCompatibilityKit;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.internal.state.InMemoryStateBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** The compatibility kit against the master's store over the wire: a real master on loopback. */
class RemoteBlobsCompatibilityTest extends BlobStoreCompatibilityKit {
  static final byte[] SECRET = "remote blobs kit secret, 16+ bytes".getBytes(UTF_8);

  @TempDir Path dir;
  StateBackend state;
  DiskBlobStore masterStore;
  MasterServer master;
  RemoteClient client;

  @Override
  protected BlobStore createStore() {
    state = InMemoryStateBackend.builder().build();
    masterStore = new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).blobs(masterStore).start();
    client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET))
        .clientId("kit-client").connect();
    return client.blobs();
  }

  @AfterEach
  void stop() {
    client.close();
    master.close();
    state.close();
  }

  @Override
  protected void corrupt(Digest digest, byte[] bytes) throws Exception {
    Path blob = masterStore.root().resolve(digest.algorithm()).resolve(digest.hex().substring(0, 2))
        .resolve(digest.hex());
    Files.write(blob, bytes);
  }
}
