package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.hash.Hashing;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A remembered hit skips the blob lookups while the store's presence index has lost nothing
 * ({@link DiskBlobStore#indexEpoch}); whatever makes the index forget a blob or change its size
 * makes the next lookup ask again, so a lost blob is a miss exactly as before.
 */
class ActionCachePresenceTest {
  @TempDir Path dir;

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private record Setup(DiskBlobStore store, ActionCache cache, Digest key, Digest output,
      Digest log) {}

  private Setup recorded() throws Exception {
    DiskBlobStore store = new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
    ActionCache cache = new ActionCache(StateBackend.inMemory(), store);
    Digest output = store.putBytes(bytes("output!"));
    Digest log = store.putBytes(bytes("a log line"));
    Digest key = Digest.of("xxh64", "0123456789abcdef");
    cache.record(key, new ActionManifest(ActionManifest.VERSION, "t",
        List.of(new ActionManifest.Output("out/a.txt", output.toString(), 7, false)), List.of(),
        log.toString(), null, 0, 1, 1));
    assertTrue(cache.lookup(key).isPresent());
    assertTrue(cache.lookup(key).isPresent(), "the second lookup is served by the stamp");
    return new Setup(store, cache, key, output, log);
  }

  @Test
  void theEpoch_staysWhileBlobsAreOnlyAdded_andMovesWhenOneLeaves() throws Exception {
    Setup s = recorded();
    long epoch = s.store.indexEpoch();
    s.store.putBytes(bytes("another blob"));
    s.store.knownToContain(s.output, 7);
    assertEquals(epoch, s.store.indexEpoch());
    Files.setLastModifiedTime(s.store.pathOf(s.log), java.nio.file.attribute.FileTime.fromMillis(0));
    assertEquals(List.of(s.log), s.store.evictTo(20)); // the oldest goes
    assertNotEquals(epoch, s.store.indexEpoch());
  }

  @Test
  void anEvictedOutput_makesTheRememberedHitAMiss() throws Exception {
    Setup s = recorded();
    Files.setLastModifiedTime(s.store.pathOf(s.output),
        java.nio.file.attribute.FileTime.fromMillis(0));
    assertEquals(List.of(s.output), s.store.evictTo(10));
    assertEquals(Optional.empty(), s.cache.lookup(s.key));
  }

  @Test
  void aLogFoundGoneByTheStoresWalk_makesTheRememberedHitAMiss() throws Exception {
    Setup s = recorded();
    Files.delete(s.store.pathOf(s.log)); // behind the store's back: the index still holds it
    assertTrue(s.cache.lookup(s.key).isPresent(), "as before: the index is a hint");
    s.store.entries(); // gc's walk, which the index becomes
    assertEquals(Optional.empty(), s.cache.lookup(s.key));
  }

  @Test
  void aBlobFoundMissingOnRead_makesTheRememberedHitAMiss() throws Exception {
    Setup s = recorded();
    Files.delete(s.store.pathOf(s.output));
    assertTrue(s.store.readVerified(s.output).isEmpty()); // a restore's read: the index forgets
    assertEquals(Optional.empty(), s.cache.lookup(s.key));
  }
}
