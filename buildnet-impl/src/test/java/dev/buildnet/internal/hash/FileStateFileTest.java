package dev.buildnet.internal.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FileStateFile}: a fresh cache loaded from the file reads only what changed, and a file
 * that cannot be trusted is ignored as a whole.
 */
class FileStateFileTest {
  @TempDir Path ws;

  /** A clock the test moves; it starts an hour ahead, where nothing the test wrote is racy. */
  static final class MovableClock extends Clock {
    volatile Instant now = Instant.now().plus(Duration.ofHours(1));

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final MovableClock clock = new MovableClock();

  /** A fresh cache, as a new process has, loaded from the workspace's state file. */
  private FileDigestCache freshCache(HashProvider provider) {
    FileDigestCache cache = FileDigestCache.builder(provider).clock(clock).build();
    state(cache).load();
    return cache;
  }

  private FileStateFile state(FileDigestCache cache) {
    return new FileStateFile(ws.resolve(".buildnet/filestate"), ws, cache, cache.directories(),
        clock);
  }

  private Path write(String name, String content) throws IOException {
    Path file = ws.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
    return file;
  }

  /** Three files digested and saved by a first "process". */
  private List<Path> savedThree() throws IOException {
    List<Path> files = List.of(write("a.txt", "a"), write("src/b.txt", "bb"),
        write("src/c.txt", "ccc"));
    FileDigestCache first = FileDigestCache.builder(Hashing.xxh64()).clock(clock).build();
    FileStateFile state = state(first);
    state.load();
    for (Path f : files) {
      first.digest(f);
    }
    assertEquals(3, first.filesRead());
    state.save();
    return files;
  }

  @Test
  void aFreshCache_loadedFromTheFile_readsNoUnchangedFile() throws IOException {
    List<Path> files = savedThree();
    FileDigestCache fresh = freshCache(Hashing.xxh64());
    for (Path f : files) {
      assertEquals(Hashing.xxh64().hash(f), fresh.digest(f));
    }
    assertEquals(0, fresh.filesRead());
    assertEquals(3, fresh.cacheHits());
  }

  @Test
  void anEditedFile_isTheOnlyOneReadAgain() throws IOException {
    List<Path> files = savedThree();
    Files.writeString(files.get(1), "edited");
    FileDigestCache fresh = freshCache(Hashing.xxh64());
    for (Path f : files) {
      fresh.digest(f);
    }
    assertEquals(1, fresh.filesRead());
    assertEquals(Hashing.xxh64().hash(files.get(1)), fresh.digest(files.get(1)));
  }

  @Test
  void aFileReplacedByRename_withTheSameSizeAndMtime_isReadAgain() throws IOException {
    List<Path> files = savedThree();
    Path a = files.get(0);
    FileTime mtime = Files.getLastModifiedTime(a);
    Path replacement = write("replacement.tmp", "z");
    Files.setLastModifiedTime(replacement, mtime);
    Files.move(replacement, a, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    assertEquals(mtime, Files.getLastModifiedTime(a));
    assertEquals(1, Files.size(a));

    FileDigestCache fresh = freshCache(Hashing.xxh64());
    assertEquals(Hashing.xxh64().hash("z".getBytes()), fresh.digest(a));
    assertEquals(1, fresh.filesRead());
  }

  @Test
  void aRacyFile_isNotSaved_soAFreshCacheReadsItAgain() throws IOException {
    Path settled = write("settled.txt", "s");
    Path racy = write("racy.txt", "r");
    FileDigestCache first = FileDigestCache.builder(Hashing.xxh64()).clock(clock).build();
    FileStateFile state = state(first);
    state.load();
    first.digest(settled);
    Instant ahead = clock.now;
    // Read at the moment it was last changed: a write in the same tick would keep its stat.
    clock.now = lastChange(racy);
    first.digest(racy);
    clock.now = ahead;
    state.save();

    FileDigestCache fresh = freshCache(Hashing.xxh64());
    fresh.digest(settled);
    assertEquals(0, fresh.filesRead());
    fresh.digest(racy);
    assertEquals(1, fresh.filesRead());
  }

  @Test
  void anEntryRacyAtTheTimeTheFileWasWritten_isNotTrustedOnLoad() throws IOException {
    // A state written by a clock behind the file system's: the entry passed the rule when it was
    // read (the cache's clock was ahead) but the file's own time says it may be racy.
    Path file = write("a.txt", "a");
    FileDigestCache first = FileDigestCache.builder(Hashing.xxh64()).clock(clock).build();
    first.digest(file);
    MovableClock behind = new MovableClock();
    behind.now = lastChange(file);
    new FileStateFile(ws.resolve(".buildnet/filestate"), ws, first, first.directories(), behind)
        .save();

    FileDigestCache fresh = freshCache(Hashing.xxh64());
    fresh.digest(file);
    assertEquals(1, fresh.filesRead());
  }

  @Test
  void aTruncatedCorruptOrForeignFile_isIgnoredAsAWhole_andRewrittenAtTheNextSave()
      throws IOException {
    List<Path> files = savedThree();
    Path stateFile = ws.resolve(".buildnet/filestate");
    byte[] good = Files.readAllBytes(stateFile);
    Map<String, UnaryOperator<byte[]>> damage = Map.of(
        "truncated", b -> java.util.Arrays.copyOf(b, b.length / 2),
        "one byte flipped", b -> {
          byte[] c = b.clone();
          c[c.length / 2] ^= 0x10;
          return c;
        },
        "another format version", b -> {
          byte[] c = b.clone();
          c[7] = 99;
          return c;
        },
        "empty", b -> new byte[0],
        "not ours", b -> "hello, this is not a file state at all".getBytes());
    for (Map.Entry<String, UnaryOperator<byte[]>> d : damage.entrySet()) {
      Files.write(stateFile, d.getValue().apply(good));
      FileDigestCache fresh = freshCache(Hashing.xxh64());
      for (Path f : files) {
        assertEquals(Hashing.xxh64().hash(f), fresh.digest(f), d.getKey());
      }
      assertEquals(3, fresh.filesRead(), d.getKey() + ": nothing of it may be trusted");
      state(fresh).save();

      FileDigestCache after = freshCache(Hashing.xxh64());
      for (Path f : files) {
        after.digest(f);
      }
      assertEquals(0, after.filesRead(), d.getKey() + ": the next save writes a good file");
    }
  }

  @Test
  void aFileOfAnotherHashAlgorithm_isIgnored() throws IOException {
    List<Path> files = savedThree();
    FileDigestCache sha = freshCache(Hashing.sha256());
    for (Path f : files) {
      Digest d = sha.digest(f);
      assertEquals("sha256", d.algorithm());
    }
    assertEquals(3, sha.filesRead());
  }

  @Test
  void aDeletedFile_isDroppedFromTheFile() throws IOException {
    List<Path> files = savedThree();
    Files.delete(files.get(2));
    FileDigestCache fresh = freshCache(Hashing.xxh64());
    assertThrows(NoSuchFileException.class, () -> fresh.digest(files.get(2)));
    state(fresh).save();

    FileDigestCache after = freshCache(Hashing.xxh64());
    assertEquals(2, after.entries().size());
    assertFalse(after.entries().stream().anyMatch(e -> e.path().equals(files.get(2))));
  }

  @Test
  void entriesUnusedForManySaves_areDropped() throws IOException {
    Path old = write("old.txt", "old");
    Path churn = write("churn.txt", "");
    FileDigestCache cache = FileDigestCache.builder(Hashing.xxh64()).clock(clock).build();
    FileStateFile state = state(cache);
    state.load();
    cache.digest(old);
    for (int i = 1; i <= FileStateFile.KEEP_GENERATIONS; i++) {
      state.save();
      assertTrue(freshCache(Hashing.xxh64()).entries().stream()
          .anyMatch(e -> e.path().equals(old)), "still kept after " + i + " saves");
      Files.writeString(churn, "x".repeat(i)); // something new to save each time
      cache.digest(churn);
    }
    state.save();
    List<FileDigestCache.Saved> left = freshCache(Hashing.xxh64()).entries();
    assertEquals(1, left.size(), left.toString());
    assertEquals(churn, left.get(0).path());
  }

  @Test
  void aSaveWithNothingNew_doesNotTouchTheFile() throws IOException {
    List<Path> files = savedThree();
    Path stateFile = ws.resolve(".buildnet/filestate");
    FileTime written = FileTime.fromMillis(0);
    Files.setLastModifiedTime(stateFile, written);
    FileDigestCache fresh = FileDigestCache.builder(Hashing.xxh64()).clock(clock).build();
    FileStateFile state = state(fresh);
    state.load();
    for (Path f : files) {
      fresh.digest(f);
    }
    assertEquals(0, fresh.filesRead());
    state.save();
    assertEquals(written, Files.getLastModifiedTime(stateFile));
  }

  @Test
  void directoryListings_areSavedToo() throws IOException {
    write("src/b.txt", "b");
    write("src/sub/c.txt", "c");
    FileDigestCache first = FileDigestCache.builder(Hashing.xxh64()).clock(clock).build();
    FileStateFile state = state(first);
    state.load();
    DirectoryListings.Listing listing = first.directories().list(ws.resolve("src"));
    assertEquals(List.of("b.txt", "sub"), List.of(listing.names()));
    assertEquals(List.of(DirectoryListings.Kind.FILE, DirectoryListings.Kind.DIRECTORY),
        List.of(listing.kinds()));
    state.save();

    FileDigestCache fresh = freshCache(Hashing.xxh64());
    DirectoryListings.Listing again = fresh.directories().list(ws.resolve("src"));
    assertEquals(0, fresh.directories().directoriesListed());
    assertEquals(List.of(listing.names()), List.of(again.names()));

    write("src/new.txt", "n");
    FileDigestCache third = freshCache(Hashing.xxh64());
    assertEquals(List.of("b.txt", "new.txt", "sub"),
        List.of(third.directories().list(ws.resolve("src")).names()));
    assertEquals(1, third.directories().directoriesListed());
  }

  private static Instant lastChange(Path file) throws IOException {
    FileTime mtime = Files.getLastModifiedTime(file);
    FileTime ctime = (FileTime) Files.getAttribute(file, "unix:ctime");
    long nanos = Math.max(mtime.to(TimeUnit.NANOSECONDS), ctime.to(TimeUnit.NANOSECONDS));
    return Instant.ofEpochSecond(0, nanos);
  }
}
