package dev.buildnet.internal.hash;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.buildnet.api.hash.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FileDigestCache#digestIfRegularFile}, the one-{@code lstat} check of a cached output: it
 * answers only for a regular file itself, and by the same stat rules as {@link
 * FileDigestCache#digest} (a file edited behind the cache's back, even with its size and mtime
 * put back, is read again).
 */
class FileDigestCacheRegularFileTest {
  private static final FileTime AN_HOUR_AGO =
      FileTime.from(Instant.now().minus(Duration.ofHours(1)));
  private static final Clock AN_HOUR_LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

  @TempDir Path dir;

  private final FileDigestCache cache =
      FileDigestCache.builder(Hashing.xxh64()).clock(AN_HOUR_LATER).build();

  private Path write(String name, String content) throws IOException {
    Path file = Files.writeString(dir.resolve(name), content, UTF_8);
    Files.setLastModifiedTime(file, AN_HOUR_AGO);
    return file;
  }

  @Test
  void aRegularFileIsDigestedOnce_thenAnsweredFromItsStat() throws IOException {
    Path file = write("out.txt", "output");
    Digest first = cache.digestIfRegularFile(file);
    assertEquals(Hashing.xxh64().hash("output".getBytes(UTF_8)), first);
    assertEquals(first, cache.digestIfRegularFile(file));
    assertEquals(first, cache.digest(file), "the entry is shared with digest()");
    assertEquals(1, cache.filesRead());
  }

  @Test
  void aLinkADirectoryAndAMissingFileAreNoRegularFile() throws IOException {
    Path target = write("real.txt", "output");
    Path link = Files.createSymbolicLink(dir.resolve("link.txt"), target);
    assertEquals(cache.digest(link), cache.digest(target), "digest() follows the link");
    assertNull(cache.digestIfRegularFile(link));
    assertNull(cache.digestIfRegularFile(Files.createDirectory(dir.resolve("sub"))));
    assertNull(cache.digestIfRegularFile(dir.resolve("missing.txt")));
  }

  @Test
  void anEditWithSizeAndMtimePutBack_isReadAgain() throws IOException {
    Path file = write("out.txt", "aaaa");
    Digest before = cache.digestIfRegularFile(file);
    awaitChangeTimeAfter(file);
    Files.writeString(file, "bbbb", UTF_8);
    Files.setLastModifiedTime(file, AN_HOUR_AGO); // ctime still moved, and may be in this tick
    Digest after = cache.digestIfRegularFile(file);
    assertNotEquals(before, after);
    assertEquals(Hashing.xxh64().hash("bbbb".getBytes(UTF_8)), after);
  }

  /**
   * Waits (a condition, not a time) until the file system's change-time clock has moved past
   * {@code file}'s, so that an edit now stamps a change time the stat comparison can see.
   */
  private void awaitChangeTimeAfter(Path file) throws IOException {
    FileTime changed = (FileTime) Files.getAttribute(file, "unix:ctime");
    Path probe = dir.resolve("probe");
    do {
      Files.writeString(probe, "tick", UTF_8);
    } while (((FileTime) Files.getAttribute(probe, "unix:ctime")).compareTo(changed) <= 0);
  }

  @Test
  void aFileReplacedByALinkToTheSameBytes_isNoLongerARegularFile() throws IOException {
    Path file = write("out.txt", "output");
    cache.digestIfRegularFile(file);
    Path elsewhere = write("elsewhere.txt", "output");
    Files.delete(file);
    Files.createSymbolicLink(file, elsewhere);
    assertNull(cache.digestIfRegularFile(file));
  }
}
