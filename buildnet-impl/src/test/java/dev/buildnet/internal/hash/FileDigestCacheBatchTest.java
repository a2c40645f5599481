package dev.buildnet.internal.hash;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FileDigestCache#allStillHold} on real files, with the cache's own stats: through one
 * native call per batch where {@link StatBatch} is available, else file by file (the build runs
 * this class a second time with {@code -Dbuildnet.stat.native=false}); the answers are the same.
 */
class FileDigestCacheBatchTest {
  @TempDir Path dir;
  /** A minute ahead of the file system's clock, so a file written now is past the racy window. */
  private final FileDigestCache cache = FileDigestCache.builder(Hashing.xxh64())
      .clock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(1)))
      .build();

  @Test
  void onLinuxX8664_theBatchedCheckBuiltWithTheJarIsInUse_unlessSwitchedOff() {
    // A library that failed to build or load would fall back quietly; this catches it.
    boolean switchedOff = "false".equalsIgnoreCase(System.getProperty(StatBatch.SWITCH));
    String arch = System.getProperty("os.arch");
    boolean linuxX8664 = "Linux".equals(System.getProperty("os.name"))
        && ("amd64".equals(arch) || "x86_64".equals(arch));
    assertEquals(linuxX8664 && !switchedOff && NativeStat.available(), StatBatch.available());
  }

  @Test
  void theSwitchOrAnotherPlatform_turnsItOffAndSaysWhy() {
    assertEquals("-Dbuildnet.stat.native=false", StatBatch.whyNot("false", "Linux", "amd64"));
    String other = StatBatch.whyNot(null, "Mac OS X", "aarch64");
    assertTrue(other.contains("Mac OS X aarch64") || other.contains("native stat is off"), other);
  }

  @Test
  void unchangedFiles_allHold_andEachCountsAsAHit() throws Exception {
    FileDigestCache.Remembered[] files = remember(5);
    long hits = cache.cacheHits();
    assertTrue(cache.allStillHold(files));
    assertEquals(hits + 5, cache.cacheHits());
  }

  @Test
  void aFileWrittenToAnotherSize_doesNotHold() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    Files.writeString(dir.resolve("f1.txt"), "longer content", UTF_8);
    assertFalse(cache.allStillHold(files));
  }

  @Test
  void aFileWhoseMtimeMoved_doesNotHold() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    Path f = dir.resolve("f2.txt");
    Files.setLastModifiedTime(f, FileTime.fromMillis(
        Files.getLastModifiedTime(f).toMillis() - 10_000));
    assertFalse(cache.allStillHold(files));
  }

  @Test
  void contentChangedWithSizeAndMtimePutBack_isCaughtByTheChangeTime() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    Path f = dir.resolve("f0.txt");
    FileTime mtime = Files.getLastModifiedTime(f);
    awaitFileClockPast(f); // else the write may get the same (coarse) change time: racy
    Files.writeString(f, "content X", UTF_8); // "content 0": the same size
    Files.setLastModifiedTime(f, mtime);
    assertFalse(cache.allStillHold(files));
  }

  @Test
  void aFileReplacedByRenameWithTheSameBytes_doesNotHold() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    Path copy = Files.writeString(dir.resolve("copy"), "content 1", UTF_8);
    Files.move(copy, dir.resolve("f1.txt"), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    assertFalse(cache.allStillHold(files));
  }

  @Test
  void aDeletedFile_doesNotHold() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    Files.delete(dir.resolve("f2.txt"));
    assertFalse(cache.allStillHold(files));
  }

  @Test
  void aFileReplacedByADirectory_doesNotHold() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    Files.delete(dir.resolve("f1.txt"));
    Files.createDirectory(dir.resolve("f1.txt"));
    assertFalse(cache.allStillHold(files));
  }

  @Test
  void inputsFollowLinks_aLinkHoldsWhileItNamesTheSameFile_andNotOnceSwapped() throws Exception {
    FileDigestCache.Remembered[] files = remember(2);
    Path target = Files.writeString(dir.resolve("target.txt"), "linked", UTF_8);
    Path other = Files.writeString(dir.resolve("other.txt"), "linked", UTF_8);
    Path link = Files.createSymbolicLink(dir.resolve("link"), target);
    cache.digest(link);
    FileDigestCache.Remembered[] withLink = {files[0], cache.remembered(link), files[1]};
    assertNotNull(withLink[1]);
    assertTrue(cache.allStillHold(withLink), "stat follows the link to the same file");
    Files.delete(link);
    Files.createSymbolicLink(link, other); // the same bytes, another file
    assertFalse(cache.allStillHold(withLink));
  }

  @Test
  void aFileSwappedForALinkToItsOwnContent_doesNotHoldAsARegularFile() throws Exception {
    Path file = Files.writeString(dir.resolve("out.txt"), "output", UTF_8);
    Path moved = dir.resolve("moved.txt");
    cache.digest(file);
    FileDigestCache.Remembered r = cache.remembered(file);
    assertTrue(cache.stillHoldsRegularFile(r));
    Files.move(file, moved);
    Files.createSymbolicLink(file, moved);
    assertFalse(cache.stillHoldsRegularFile(r), "lstat sees the link");
  }

  @Test
  void theFirstThatDoesNotHold_endsTheCount_asAskingOneByOneWould() throws Exception {
    FileDigestCache.Remembered[] files = remember(4);
    Files.writeString(dir.resolve("f1.txt"), "changed!!", UTF_8);
    long hits = cache.cacheHits();
    assertFalse(cache.allStillHold(files));
    assertEquals(hits + 1, cache.cacheHits(), "f0 held; f1 did not; f2 and f3 were not asked");
  }

  @Test
  void moreFilesThanOneNativeCallTakes_areAllChecked() throws Exception {
    FileDigestCache.Remembered[] files = remember(600);
    long hits = cache.cacheHits();
    assertTrue(cache.allStillHold(files));
    assertEquals(hits + 600, cache.cacheHits());
    Files.delete(dir.resolve("f580.txt")); // in the third batch
    hits = cache.cacheHits();
    assertFalse(cache.allStillHold(files));
    assertEquals(hits + 580, cache.cacheHits());
  }

  @Test
  void anInvalidatedEntry_doesNotHold_atAnUnchangedStat() throws Exception {
    FileDigestCache.Remembered[] files = remember(3);
    cache.invalidate(dir.resolve("f1.txt"));
    assertFalse(cache.allStillHold(files));
    assertTrue(cache.allStillHold(new FileDigestCache.Remembered[] {files[0], files[2]}));
  }

  @Test
  void everyStatIsObserved() throws Exception {
    List<Path> seen = new ArrayList<>();
    FileDigestCache observed = FileDigestCache.builder(Hashing.xxh64())
        .clock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(1)))
        .statObserver(seen::add)
        .build();
    FileDigestCache.Remembered[] files = new FileDigestCache.Remembered[3];
    for (int i = 0; i < files.length; i++) {
      Path f = Files.writeString(dir.resolve("f" + i + ".txt"), "content " + i, UTF_8);
      observed.digest(f);
      files[i] = observed.remembered(f);
    }
    seen.clear();
    assertTrue(observed.allStillHold(files));
    assertEquals(List.of(dir.resolve("f0.txt"), dir.resolve("f1.txt"), dir.resolve("f2.txt")),
        seen);
  }

  /** Waits until a file written now gets a later change time than {@code f}'s. */
  private void awaitFileClockPast(Path f) throws Exception {
    FileTime ctime = (FileTime) Files.getAttribute(f, "unix:ctime");
    Path probe = dir.resolve("probe");
    for (int i = 0; i < 1_000_000; i++) {
      Files.writeString(probe, "probe", UTF_8);
      if (((FileTime) Files.getAttribute(probe, "unix:ctime")).compareTo(ctime) > 0) {
        return;
      }
    }
    throw new AssertionError("the file system's clock did not move past " + ctime);
  }

  /** {@code n} files f0.txt... ("content i"), digested and remembered. */
  private FileDigestCache.Remembered[] remember(int n) throws Exception {
    FileDigestCache.Remembered[] files = new FileDigestCache.Remembered[n];
    for (int i = 0; i < n; i++) {
      Path f = Files.writeString(dir.resolve("f" + i + ".txt"), "content " + i, UTF_8);
      cache.digest(f);
      files[i] = cache.remembered(f);
      assertNotNull(files[i], "remembered: the clock is past the racy window");
    }
    return files;
  }
}
