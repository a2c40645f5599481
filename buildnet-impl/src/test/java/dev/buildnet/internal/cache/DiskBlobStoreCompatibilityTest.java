package dev.buildnet.internal.cache;

import dev.buildnet.tck.BlobStoreCompatibilityKit;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.hash.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;

/** The compatibility kit against the local disk store. */
class DiskBlobStoreCompatibilityTest extends BlobStoreCompatibilityKit {
  @TempDir Path dir;
  DiskBlobStore disk;

  @Override
  protected BlobStore createStore() {
    disk = new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
    return disk;
  }

  @Override
  protected void corrupt(Digest digest, byte[] bytes) throws Exception {
    Files.write(disk.pathOf(digest), bytes);
  }
}
