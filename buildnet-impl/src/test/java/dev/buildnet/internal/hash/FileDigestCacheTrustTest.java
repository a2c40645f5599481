package dev.buildnet.internal.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Watch mode's trusted file state: no stat until an event invalidates the file. */
class FileDigestCacheTrustTest {
  @TempDir Path dir;

  @Test
  void aTrustedFileIsAnsweredWithoutAStat_untilInvalidated() throws Exception {
    AtomicInteger stats = new AtomicInteger();
    FileDigestCache cache = FileDigestCache.builder(HashProvider.xxh64())
        .statReader(f -> {
          stats.incrementAndGet();
          return FileStat.read(f);
        }).build();
    Path f = dir.resolve("a.txt");
    Files.writeString(f, "one");
    cache.trustUntilInvalidated(p -> p.startsWith(dir));
    Digest first = cache.digest(f);
    int afterFirst = stats.get();
    assertEquals(first, cache.digest(f));
    assertEquals(afterFirst, stats.get(), "a trusted digest costs no stat");

    Files.writeString(f, "two"); // the watcher's event is what tells the cache
    assertEquals(first, cache.digest(f), "trusted until invalidated");
    assertEquals(first, cache.invalidate(f), "invalidate hands back the trusted digest");
    Digest second = cache.digest(f);
    assertNotEquals(first, second);
    assertNull(cache.invalidate(dir.resolve("never-read.txt")));
  }

  @Test
  void distrustUnderMakesTheNextDigestCheckTheFileAgain() throws Exception {
    FileDigestCache cache = new FileDigestCache(HashProvider.xxh64());
    Path f = dir.resolve("sub/a.txt");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "one");
    cache.trustUntilInvalidated(p -> true);
    Digest first = cache.digest(f);
    Files.writeString(f, "two, longer"); // a change whose event was lost
    assertEquals(first, cache.digest(f));
    cache.distrustUnder(dir.resolve("sub"));
    assertNotEquals(first, cache.digest(f), "the stat check finds the change");
  }

  @Test
  void filesTheWatcherDoesNotCoverAreCheckedAsBefore() throws Exception {
    FileDigestCache cache = new FileDigestCache(HashProvider.xxh64());
    Path f = dir.resolve("a.txt");
    Files.writeString(f, "one");
    cache.trustUntilInvalidated(p -> false);
    Digest first = cache.digest(f);
    Files.writeString(f, "two, longer");
    assertNotEquals(first, cache.digest(f));
    cache.trustUntilInvalidated(null);
    Files.writeString(f, "three, longer still");
    assertNotEquals(first, cache.digest(f));
  }
}
