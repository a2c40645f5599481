package dev.buildnet.internal.hash;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The names in a directory and what each is (file, directory, link, other), remembered by the
 * directory's stat so that an unchanged directory is not listed again: one {@code stat} of the
 * directory replaces a {@code readdir} and an {@code lstat} per entry.
 *
 * <h2>When a listing counts as unchanged</h2>
 *
 * Creating, deleting or renaming an entry changes its directory's mtime and ctime; so does
 * replacing an entry with one of another kind (that takes a delete and a create, or a rename).
 * Writing to a file inside does not, and neither does anything inside a subdirectory: each
 * directory level is its own entry, and a caller that walks a tree asks for each level. The kinds
 * are what {@code lstat} saw; where a link leads is not remembered (it can change without touching
 * this directory), so callers resolve links themselves. The identity (device, inode) is compared
 * too, so a directory replaced by rename is listed again. The racy rule of {@link FileDigestCache}
 * applies as it does to files: a listing is remembered only if the directory's last change is more
 * than the racy window older than the moment the listing began, and only if the directory's stat
 * was the same before and after listing it.
 *
 * <p>Safe for concurrent use. {@link FileStateFile} keeps the listings across processes.
 */
public final class DirectoryListings {
  /** What an entry is, as {@code lstat} reports it (links not followed). */
  public enum Kind { FILE, DIRECTORY, LINK, OTHER }

  /** A directory's entries: names sorted by {@link String#compareTo}, with their kinds. */
  public record Listing(String[] names, Kind[] kinds) {}

  private static final int MAX_READS = 3;

  private final Clock clock;
  private final long racyWindowNanos;
  private final FileDigestCache.StatReader statReader;
  private final Map<Path, Entry> entries = new HashMap<>(); // guarded by itself
  private final AtomicLong changes = new AtomicLong();
  private final LongAdder listed = new LongAdder();
  private volatile int generation;

  /** Listings with the system clock and {@link FileDigestCache}'s default racy window. */
  public DirectoryListings() {
    this(Clock.systemUTC(), FileDigestCache.DEFAULT_RACY_WINDOW.toNanos(),
        p -> FileStat.read(p, LinkOption.NOFOLLOW_LINKS));
  }

  DirectoryListings(Clock clock, long racyWindowNanos, FileDigestCache.StatReader statReader) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.racyWindowNanos = racyWindowNanos;
    this.statReader = Objects.requireNonNull(statReader, "statReader");
  }

  /**
   * The entries of {@code directory}, or null if it does not exist, is not a directory or is a
   * symbolic link (links before its last name are followed, as in any path).
   *
   * @throws IOException if it cannot be read
   */
  public Listing list(Path directory) throws IOException {
    Path key = directory.toAbsolutePath().normalize();
    long readStart = FileDigestCache.epochNanos(clock.instant());
    FileStat before = directoryStat(key);
    if (before == null) {
      return null;
    }
    Entry cached;
    synchronized (entries) {
      cached = entries.get(key);
    }
    if (cached != null && cached.stat.equals(before)) {
      cached.seen = generation;
      return cached.listing;
    }
    for (int reads = 1; ; reads++) {
      listed.increment();
      Listing listing = read(key);
      FileStat after = directoryStat(key);
      if (after == null) {
        return null;
      }
      if (after.equals(before)
          && FileDigestCache.changedBefore(after, readStart, racyWindowNanos)) {
        synchronized (entries) {
          entries.put(key, new Entry(after, listing, generation));
        }
        changes.incrementAndGet();
        return listing;
      }
      if (after.equals(before) || reads == MAX_READS) {
        invalidate(key);
        return listing;
      }
      readStart = FileDigestCache.epochNanos(clock.instant());
      before = after;
    }
  }

  /** Forgets {@code directory}, so the next {@link #list} reads it. */
  public void invalidate(Path directory) {
    Path key = directory.toAbsolutePath().normalize();
    synchronized (entries) {
      if (entries.remove(key) == null) {
        return;
      }
    }
    changes.incrementAndGet();
  }

  /** How many times a directory was actually listed (not answered from memory). */
  public long directoriesListed() {
    return listed.sum();
  }

  private FileStat directoryStat(Path key) throws IOException {
    FileStat stat;
    try {
      stat = statReader.read(key);
    } catch (NoSuchFileException | NotDirectoryException e) {
      invalidate(key);
      return null;
    }
    if (!stat.directory()) {
      invalidate(key);
      return null;
    }
    return stat;
  }

  private static Listing read(Path directory) throws IOException {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
      for (Path p : stream) {
        names.add(p.getFileName().toString());
      }
    }
    String[] sorted = names.toArray(new String[0]);
    Arrays.sort(sorted);
    List<String> kept = new ArrayList<>(sorted.length);
    List<Kind> kinds = new ArrayList<>(sorted.length);
    for (String name : sorted) {
      BasicFileAttributes a;
      try {
        a = Files.readAttributes(directory.resolve(name), BasicFileAttributes.class,
            LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        continue; // deleted while we listed: the stat after listing notices the change
      }
      kept.add(name);
      kinds.add(a.isSymbolicLink() ? Kind.LINK : a.isDirectory() ? Kind.DIRECTORY
          : a.isRegularFile() ? Kind.FILE : Kind.OTHER);
    }
    return new Listing(kept.toArray(new String[0]), kinds.toArray(new Kind[0]));
  }

  // ---- for FileStateFile ----

  long changes() {
    return changes.get();
  }

  void generation(int generation) {
    this.generation = generation;
  }

  long racyWindowNanos() {
    return racyWindowNanos;
  }

  List<Saved> entries() {
    synchronized (entries) {
      List<Saved> all = new ArrayList<>(entries.size());
      entries.forEach((path, e) -> all.add(new Saved(path, e.stat, e.listing, e.seen)));
      return all;
    }
  }

  void restore(Saved saved) {
    synchronized (entries) {
      entries.putIfAbsent(saved.path(), new Entry(saved.stat(), saved.listing(), saved.seen()));
    }
  }

  record Saved(Path path, FileStat stat, Listing listing, int seen) {}

  private static final class Entry {
    final FileStat stat;
    final Listing listing;
    int seen;

    Entry(FileStat stat, Listing listing, int seen) {
      this.stat = stat;
      this.listing = listing;
      this.seen = seen;
    }
  }
}
