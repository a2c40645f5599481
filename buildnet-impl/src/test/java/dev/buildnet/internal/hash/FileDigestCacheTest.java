package dev.buildnet.internal.hash;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileDigestCacheTest {
  private static final HashProvider XXH64 = Hashing.xxh64();
  private static final FileTime AN_HOUR_AGO =
      FileTime.from(Instant.now().minus(Duration.ofHours(1)));

  /**
   * Files written by a test were changed a moment ago, so the real clock would (rightly) treat
   * them as racily clean and never cache them. Tests of the stat comparison look from an hour on.
   */
  private static final Clock AN_HOUR_LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

  @TempDir Path dir;

  private FileDigestCache trustingCache() {
    return FileDigestCache.builder(XXH64).clock(AN_HOUR_LATER).build();
  }

  private Path write(String name, String content) throws IOException {
    Path file = Files.writeString(dir.resolve(name), content, UTF_8);
    Files.setLastModifiedTime(file, AN_HOUR_AGO);
    return file;
  }

  @Test
  void digest_unchangedFile_isReadOnce() throws IOException {
    FileDigestCache cache = trustingCache();
    Path file = write("a.txt", "hello");

    Digest first = cache.digest(file);
    Digest second = cache.digest(file);

    assertEquals(XXH64.hash(file), first);
    assertEquals(first, second);
    assertEquals(1, cache.filesRead());
    assertEquals(1, cache.cacheHits());
  }

  @Test
  void digest_sameFileByAnotherSpelling_isACacheHit() throws IOException {
    FileDigestCache cache = trustingCache();
    Path file = write("a.txt", "hello");
    Files.createDirectory(dir.resolve("sub"));

    cache.digest(file);
    cache.digest(dir.resolve("sub").resolve("..").resolve("a.txt"));

    assertEquals(1, cache.filesRead());
    assertEquals(1, cache.cacheHits());
  }

  @Test
  void digest_contentOfANewSize_isReadAgain() throws IOException {
    FileDigestCache cache = trustingCache();
    Path file = write("a.txt", "hello");
    cache.digest(file);

    write("a.txt", "hello, world");

    assertEquals(XXH64.hash(file), cache.digest(file));
    assertEquals(2, cache.filesRead());
    assertEquals(0, cache.cacheHits());
  }

  @Test
  void digest_fileReplacedByRenameWithSameSizeAndMtime_isReadAgain() throws IOException {
    FileDigestCache cache = trustingCache();
    Path file = write("a.txt", "aaaa");
    Digest before = cache.digest(file);
    // Both exist at once, so the replacement has another inode.
    Path replacement = write("a.txt.tmp", "bbbb");

    Files.move(replacement, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.setLastModifiedTime(file, AN_HOUR_AGO);

    Digest after = cache.digest(file);
    assertNotEquals(before, after);
    assertEquals(XXH64.hash(file), after);
    assertEquals(2, cache.filesRead());
  }

  /**
   * Regression test for the racily clean case: rewritten within the timestamp granularity of the
   * first read, the file has the same size and (after setting it back) the same mtime as when it
   * was read. With the real clock it was changed too recently to be trusted, so it is read again.
   */
  @Test
  void digest_sameSizeAndMtimeRewrittenRightAfterARead_isReadAgain() throws IOException {
    FileDigestCache cache = new FileDigestCache(XXH64);
    Path file = Files.writeString(dir.resolve("a.txt"), "aaaa", UTF_8);
    FileTime mtime = Files.getLastModifiedTime(file);
    Digest before = cache.digest(file);

    Files.writeString(file, "bbbb", UTF_8);
    Files.setLastModifiedTime(file, mtime);

    Digest after = cache.digest(file);
    assertEquals(XXH64.hash("bbbb".getBytes(UTF_8)), after);
    assertNotEquals(before, after);
    assertEquals(2, cache.filesRead());
    assertEquals(0, cache.cacheHits());
  }

  @Test
  void digest_statIdenticalButChangedWithinTheRacyWindow_isReadAgain() throws IOException {
    Path file = Files.writeString(dir.resolve("a.txt"), "aaaa", UTF_8);
    Instant changed = Instant.parse("2026-01-01T12:00:00Z");
    // A stat that never moves: what a 2 s file system shows for two writes in the same tick.
    FileStat frozen = frozenStat(4, changed);
    FileDigestCache cache =
        FileDigestCache.builder(XXH64)
            .clock(Clock.fixed(changed.plusMillis(1999), ZoneOffset.UTC))
            .statReader(f -> frozen)
            .build();
    cache.digest(file);

    Files.writeString(file, "bbbb", UTF_8);

    assertEquals(XXH64.hash("bbbb".getBytes(UTF_8)), cache.digest(file));
    assertEquals(2, cache.filesRead());
  }

  @Test
  void digest_lastChangeExactlyTheRacyWindowBeforeTheRead_isNotTrusted() throws IOException {
    Path file = write("a.txt", "aaaa");
    Instant changed = Instant.parse("2026-01-01T12:00:00Z");
    FileDigestCache cache =
        FileDigestCache.builder(XXH64)
            .clock(Clock.fixed(changed.plus(FileDigestCache.DEFAULT_RACY_WINDOW), ZoneOffset.UTC))
            .statReader(f -> frozenStat(4, changed))
            .build();

    cache.digest(file);
    cache.digest(file);

    assertEquals(2, cache.filesRead());
  }

  /** The other side of the racy window: the same frozen stat is trusted once it is old enough. */
  @Test
  void digest_lastChangeOlderThanTheRacyWindow_isTrusted() throws IOException {
    Path file = write("a.txt", "aaaa");
    Instant changed = Instant.parse("2026-01-01T12:00:00Z");
    FileDigestCache cache =
        FileDigestCache.builder(XXH64)
            .clock(Clock.fixed(changed.plusMillis(2001), ZoneOffset.UTC))
            .statReader(f -> frozenStat(4, changed))
            .build();

    Digest first = cache.digest(file);
    Digest second = cache.digest(file);

    assertEquals(first, second);
    assertEquals(1, cache.filesRead());
    assertEquals(1, cache.cacheHits());
  }

  @Test
  void digest_racyWindowIsConfigurable() throws IOException {
    Path file = write("a.txt", "aaaa");
    Instant changed = Instant.parse("2026-01-01T12:00:00Z");
    FileDigestCache cache =
        FileDigestCache.builder(XXH64)
            .clock(Clock.fixed(changed.plusSeconds(5), ZoneOffset.UTC))
            .racyWindow(Duration.ofSeconds(10))
            .statReader(f -> frozenStat(4, changed))
            .build();

    cache.digest(file);
    cache.digest(file);

    assertEquals(2, cache.filesRead());
  }

  @Test
  void digest_fileChangingWhileRead_isReadAgainAndNotRemembered() throws IOException {
    Path file = write("a.txt", "aaaa");
    AtomicInteger stats = new AtomicInteger();
    Instant changed = Instant.parse("2026-01-01T12:00:00Z");
    FileDigestCache cache =
        FileDigestCache.builder(XXH64)
            .clock(Clock.fixed(changed.plusSeconds(60), ZoneOffset.UTC))
            // Every stat differs from the last: the file never holds still.
            .statReader(f -> frozenStat(stats.incrementAndGet(), changed))
            .build();

    assertEquals(XXH64.hash(file), cache.digest(file));
    assertEquals(3, cache.filesRead());

    cache.digest(file);
    assertEquals(6, cache.filesRead());
    assertEquals(0, cache.cacheHits());
  }

  @Test
  void digest_fileSettlingWhileRead_isRememberedOnceStable() throws IOException {
    Path file = write("a.txt", "aaaa");
    AtomicInteger stats = new AtomicInteger();
    Instant changed = Instant.parse("2026-01-01T12:00:00Z");
    FileDigestCache cache =
        FileDigestCache.builder(XXH64)
            .clock(Clock.fixed(changed.plusSeconds(60), ZoneOffset.UTC))
            // Changes between the first stat and the one after the first read, then holds still.
            .statReader(f -> frozenStat(Math.min(stats.incrementAndGet(), 2), changed))
            .build();

    cache.digest(file);
    cache.digest(file);

    assertEquals(2, cache.filesRead());
    assertEquals(1, cache.cacheHits());
  }

  @Test
  void normalized_isWhatNormalizeGives_andThePathItselfWhenAlreadyNormal() {
    for (String p : new String[] {"/a/b.txt", "/a/./b", "/a/../b", "/a/b/.", "/a/b/..", "/.",
        "/..", "/a/.hidden/b", "/a/..b/c", "/a/b../c", "/a/.../c", "/a/b.", "/a.b/c.d", "a/b",
        "./a", "/", "/a/.b./..c/.", ""}) {
      Path path = Path.of(p);
      assertEquals(path.toAbsolutePath().normalize(), FileDigestCache.normalized(path), p);
    }
    Path normal = Path.of("/w/.buildnet/x..y/z.txt");
    assertSame(normal, FileDigestCache.normalized(normal));
    assertTrue(FileDigestCache.hasDotName("/a/./b"));
    assertTrue(FileDigestCache.hasDotName("/a/.."));
    assertFalse(FileDigestCache.hasDotName("/a/.b/c."));
  }

  @Test
  void statOnThisPlatform_includesCtimeAndInode() throws IOException {
    assertTrue(
        dir.getFileSystem().supportedFileAttributeViews().contains("unix"),
        "these tests expect a Unix file system, where ctime and inodes are known");
    Path file = write("a.txt", "aaaa");

    FileStat stat = FileStat.read(file);

    assertEquals(4, stat.size());
    assertEquals(AN_HOUR_AGO.to(TimeUnit.NANOSECONDS), stat.mtimeNanos());
    // Setting mtime back changed ctime to now: the last change is recent, not an hour ago.
    assertTrue(stat.ctimeNanos() > stat.mtimeNanos(), stat.toString());
    assertEquals(stat.ctimeNanos(), stat.lastChangeNanos());
    assertTrue(stat.hasUnixId() && stat.ino() != 0, stat.toString());
  }

  @Test
  void digest_deletedFile_throwsNoSuchFileAndIsForgotten() throws IOException {
    FileDigestCache cache = trustingCache();
    Path file = write("a.txt", "aaaa");
    cache.digest(file);

    Files.delete(file);

    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> cache.digest(file));
    assertEquals(file.toAbsolutePath().toString(), e.getFile());

    write("a.txt", "aaaa");
    cache.digest(file);
    assertEquals(2, cache.filesRead());
  }

  @Test
  void digest_directory_throwsIOExceptionSayingSo() {
    FileDigestCache cache = trustingCache();

    FileSystemException e = assertThrows(FileSystemException.class, () -> cache.digest(dir));

    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    assertEquals(dir.toAbsolutePath().toString(), e.getFile());
    assertEquals(0, cache.filesRead());
  }

  @Test
  void invalidate_makesTheNextDigestRead() throws IOException {
    FileDigestCache cache = trustingCache();
    Path file = write("a.txt", "aaaa");
    cache.digest(file);

    cache.invalidate(file);
    cache.digest(file);

    assertEquals(2, cache.filesRead());
  }

  @Test
  void clear_makesTheNextDigestsRead() throws IOException {
    FileDigestCache cache = trustingCache();
    Path a = write("a.txt", "aaaa");
    Path b = write("b.txt", "bbbb");
    cache.digest(a);
    cache.digest(b);

    cache.clear();
    cache.digest(a);
    cache.digest(b);

    assertEquals(4, cache.filesRead());
    assertEquals(0, cache.cacheHits());
  }

  @Test
  void maxEntries_evictsTheLeastRecentlyUsed() throws IOException {
    FileDigestCache cache =
        FileDigestCache.builder(XXH64).clock(AN_HOUR_LATER).maxEntries(2).build();
    Path a = write("a.txt", "a");
    Path b = write("b.txt", "b");
    Path c = write("c.txt", "c");

    cache.digest(a);
    cache.digest(b);
    cache.digest(a); // hit; b is now the least recently used
    cache.digest(c); // evicts b
    cache.digest(a); // hit
    assertEquals(3, cache.filesRead());

    cache.digest(b);
    assertEquals(4, cache.filesRead());
    assertEquals(2, cache.cacheHits());
  }

  @Test
  void digest_fromSeveralThreads_givesEachFilesDigest() throws Exception {
    FileDigestCache cache = trustingCache();
    List<Path> files = new ArrayList<>();
    List<Digest> expected = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      Path file = write("f" + i, "content of file " + i + "\n".repeat(i * 100));
      files.add(file);
      expected.add(XXH64.hash(file));
    }
    int threads = 4;
    int rounds = 25;
    AtomicInteger names = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            threads, r -> new Thread(r, "buildnet-test-digest-" + names.incrementAndGet()));
    try {
      List<Callable<Void>> tasks = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int offset = t;
        tasks.add(
            () -> {
              for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < files.size(); i++) {
                  int index = (i + offset * 7) % files.size();
                  assertEquals(expected.get(index), cache.digest(files.get(index)));
                }
              }
              return null;
            });
      }
      for (Future<Void> result : pool.invokeAll(tasks, 30, TimeUnit.SECONDS)) {
        result.get();
      }
    } finally {
      pool.shutdownNow();
    }

    long calls = (long) threads * rounds * files.size();
    assertEquals(calls, cache.filesRead() + cache.cacheHits());
    assertTrue(cache.filesRead() >= files.size(), "each file is read at least once");
    assertTrue(
        cache.filesRead() <= (long) files.size() * threads,
        "a file is read again only by threads that missed it at the same time: "
            + cache.filesRead());
  }

  @Test
  void builder_rejectsBadSettingsWithReasons() {
    FileDigestCache.Builder builder = FileDigestCache.builder(XXH64);

    assertEquals(
        "max entries must be at least 1 but was 0",
        assertThrows(IllegalArgumentException.class, () -> builder.maxEntries(0)).getMessage());
    assertEquals(
        "racy window must not be negative but was PT-1S",
        assertThrows(
                IllegalArgumentException.class, () -> builder.racyWindow(Duration.ofSeconds(-1)))
            .getMessage());
    builder.maxEntries(10);
    assertEquals(
        "max entries was already set to 10",
        assertThrows(IllegalStateException.class, () -> builder.maxEntries(20)).getMessage());
    builder.clock(Clock.systemUTC());
    assertThrows(IllegalStateException.class, () -> builder.clock(Clock.systemUTC()));
    assertThrows(NullPointerException.class, () -> FileDigestCache.builder(null));
  }

  private static FileStat frozenStat(long size, Instant changed) {
    long nanos = TimeUnit.SECONDS.toNanos(changed.getEpochSecond()) + changed.getNano();
    return new FileStat(size, nanos, nanos, "inode-1", true, false);
  }
}
