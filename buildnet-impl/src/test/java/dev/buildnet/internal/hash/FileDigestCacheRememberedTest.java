package dev.buildnet.internal.hash;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.HashProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FileDigestCache#remembered} and {@link FileDigestCache#stillHolds}: a remembered digest
 * vouches for the file only while its entry is the cache's and the stat is exactly the one it was
 * taken at. Stats are pinned, so "same stat, other bytes" can be staged.
 */
class FileDigestCacheRememberedTest {
  private static final HashProvider XXH64 = Hashing.xxh64();
  private static final Instant CHANGED = Instant.parse("2026-01-01T12:00:00Z");

  @TempDir Path dir;
  private final AtomicReference<FileStat> stat = new AtomicReference<>(stat(4, "inode-1"));
  private final FileDigestCache cache = FileDigestCache.builder(XXH64)
      .clock(Clock.fixed(CHANGED.plusSeconds(60), ZoneOffset.UTC))
      .statReader(f -> stat.get())
      .build();

  private static FileStat stat(long size, String inode) {
    long nanos = TimeUnit.SECONDS.toNanos(CHANGED.getEpochSecond());
    return new FileStat(size, nanos, nanos, inode, true, false);
  }

  @Test
  void aRememberedDigest_holdsWhileTheStatIsUnchanged_andNotOnceItMoves() throws Exception {
    Path file = Files.writeString(dir.resolve("a.txt"), "aaaa", UTF_8);
    cache.digest(file);
    FileDigestCache.Remembered r = cache.remembered(file);
    assertNotNull(r);
    assertEquals(XXH64.hash("aaaa".getBytes(UTF_8)), r.digest());
    assertTrue(cache.stillHolds(r));
    stat.set(stat(4, "inode-2")); // replaced by a rename: same size and times, other file
    assertFalse(cache.stillHolds(r));
  }

  @Test
  void anInvalidatedFile_isNoLongerVouchedFor_evenAtTheSameStat() throws Exception {
    Path file = Files.writeString(dir.resolve("a.txt"), "aaaa", UTF_8);
    cache.digest(file);
    FileDigestCache.Remembered r = cache.remembered(file);
    Files.writeString(file, "bbbb", UTF_8); // a watcher saw this write; the pinned stat did not
    cache.invalidate(file);
    assertFalse(cache.stillHolds(r));
    assertEquals(XXH64.hash("bbbb".getBytes(UTF_8)), cache.digest(file));
  }

  @Test
  void aReplacedOrClearedEntry_isNoLongerVouchedFor() throws Exception {
    Path file = Files.writeString(dir.resolve("a.txt"), "aaaa", UTF_8);
    cache.digest(file);
    FileDigestCache.Remembered first = cache.remembered(file);
    stat.set(stat(4, "inode-2"));
    cache.digest(file); // read again at the new stat: a new entry replaces the first
    stat.set(stat(4, "inode-1"));
    assertFalse(cache.stillHolds(first), "the first entry left the cache");
    FileDigestCache.Remembered second = cache.remembered(file);
    cache.clear();
    assertFalse(cache.stillHolds(second));
    assertNull(cache.remembered(file));
  }
}
