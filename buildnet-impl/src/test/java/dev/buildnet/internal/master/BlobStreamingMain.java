package dev.buildnet.internal.master;

import dev.buildnet.client.RemoteClient;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.internal.state.InMemoryStateBackend;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Random;

/**
 * Run in a child JVM with a heap smaller than the blob by {@link BlobTransferTest}: a master and a
 * client in one process upload and download a blob of {@code args[1]} MiB. Exits 0 only if the
 * round trip is byte-exact; an {@link OutOfMemoryError} would prove a side buffers whole blobs.
 */
final class BlobStreamingMain {
  private BlobStreamingMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int mib = Integer.parseInt(args[1]);
    byte[] secret = "blob streaming secret, 16+ bytes".getBytes(UTF_8);
    Path src = dir.resolve("big");
    Random random = new Random(3);
    byte[] block = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(src)) {
      for (int i = 0; i < mib; i++) {
        random.nextBytes(block);
        out.write(block);
      }
    }
    DiskBlobStore store = new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
    try (StateBackend state = InMemoryStateBackend.builder().build();
        MasterServer master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(secret)).blobs(store).start();
        RemoteClient client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(secret)).connect()) {
      Digest d = client.blobs().upload(src);
      Path dst = dir.resolve("big.copy");
      client.blobs().download(d, dst);
      if (!Hashing.xxh64().hash(dst).equals(d) || Files.size(dst) != Files.size(src)) {
        System.err.println("round trip differs");
        System.exit(2);
      }
    }
    System.out.println("ok max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB");
    System.exit(0);
  }
}
