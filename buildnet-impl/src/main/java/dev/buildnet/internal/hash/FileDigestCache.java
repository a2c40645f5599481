package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Digests of files, remembered by path and {@code stat} so that an unchanged file is not read
 * again. Use one per build session (or per long-lived daemon) in front of a {@link HashProvider}.
 *
 * <h2>When a file counts as unchanged</h2>
 *
 * A cached digest is used only when the file's size, modification time, identity (device and
 * inode where the platform reports them, so a file replaced by rename is noticed) and, on Unix,
 * change time ({@code ctime}) all equal what they were when it was read. Any difference means the
 * file is read again.
 *
 * <p>That alone misses a write that lands within the file system's timestamp granularity of the
 * read: the file is read at 12:00:00.100, written again at 12:00:00.101 with the same size, and
 * both writes stamp it 12:00:00 (a 1 s or 2 s file system), or the same coarse kernel tick on one
 * with nanosecond fields. The stat is identical but the content is not. As git does for its index
 * ("racily clean" entries), a digest is therefore remembered only if the file's last change
 * (the later of mtime and ctime) is more than the <em>racy window</em> older than the moment the
 * read began. Any write after that moment stamps the file no earlier than that moment less the
 * granularity, so with a window at least as long as the granularity (plus any lag between the
 * file system's clock and {@link Clock}), such a write always changes the stat. The default window
 * is 2 s: it covers FAT's 2 s mtime resolution, 1 s on HFS+ and older ext3, and the few
 * milliseconds a kernel's coarse clock lags. The cost is that a file changed in the last 2 s is
 * read on every call until it is 2 s old. Network file systems whose server clock is further off
 * than the window are not covered; give them a larger window.
 *
 * <p>A digest is also not remembered if the stat taken after reading differs from the one taken
 * before (the file changed while it was read): the file is read again, up to three times, and
 * the last digest is returned without being remembered.
 *
 * <p>Not detected, as with any stat-based check: content changed with size kept and mtime set
 * back on a platform without ctime (Windows), or changed through a memory mapping that never
 * updates the timestamps.
 *
 * <h2>Paths</h2>
 *
 * Files are keyed by {@code file.toAbsolutePath().normalize()}, and that path is what is read;
 * {@code ..} is therefore resolved lexically, as {@link Path#normalize()} does. Symbolic links are
 * followed.
 *
 * <h2>Across processes</h2>
 *
 * {@link FileStateFile} saves the remembered entries and loads them into a fresh cache, so a new
 * process reads only the files that changed. Only entries that passed the racy rule above are ever
 * remembered, and the rule holds for as long as the stat is unchanged, so a loaded entry is as
 * trustworthy as one this process made.
 *
 * <h2>Threads and cost</h2>
 *
 * Safe for concurrent use. {@link #digest} blocks on I/O and holds no lock while reading; two
 * threads asking for the same uncached file at once may both read it. Each remembered file costs
 * roughly 300 bytes plus its path; by default nothing is evicted, {@link Builder#maxEntries(int)}
 * bounds that (least recently used first).
 *
 * @since 0.1
 */
public final class FileDigestCache {
  static final Duration DEFAULT_RACY_WINDOW = Duration.ofSeconds(2);
  private static final int MAX_READS = 3;
  /**
   * At most this many files per native call of {@link #allStillHold}: bounds the thread's batch
   * buffer (kept for the thread's life) whatever a target's input count.
   */
  private static final int MAX_BATCH = 256;
  private static final java.nio.file.LinkOption[] FOLLOW_LINKS = {};
  private static final java.nio.file.LinkOption[] NO_FOLLOW_LINKS =
      {java.nio.file.LinkOption.NOFOLLOW_LINKS};
  /** The flags of a regular file's stat with a Unix identity, as {@link NativeStat} makes it. */
  private static final int UNIX_REGULAR_FILE = FileStat.UNIX_ID | FileStat.REGULAR_FILE;
  /** The default file system if its separator is '/', which {@link #hasDotName} assumes. */
  private static final java.nio.file.FileSystem SLASHED =
      java.nio.file.FileSystems.getDefault().getSeparator().equals("/")
          ? java.nio.file.FileSystems.getDefault() : null;

  private final HashProvider provider;
  private final Clock clock;
  private final long racyWindowNanos;
  private final StatReader statReader;
  /** Reads a file's stat without following a link ({@code lstat}), for {@link #digestIfRegularFile}. */
  private final StatReader lstatReader;
  /**
   * Whether the stats are {@link FileStat#read}'s own (no test's reader), so that a {@link
   * Remembered} may keep its path encoded for {@link NativeStat} and skip the encoding per stat.
   */
  private final boolean nativeStats;
  /**
   * Whether {@link #stillHolds} and {@link #allStillHold} check remembered regular files through
   * {@link StatBatch} (one native call per batch) rather than {@link NativeStat} per file.
   */
  private final boolean batchStats;
  private final java.util.function.Consumer<Path> statObserver;
  /**
   * By path ({@link Path#toString()} of the normalized absolute path: a string is smaller than a
   * path and is what the native stat reads anyway). Unbounded (the default, and what BuildNet uses): a concurrent map, read without a
   * lock, since a null build looks up every input of every target from several threads at once.
   * Bounded: a {@link LinkedHashMap} in access order, guarded by itself, which evicts the least
   * recently used.
   */
  private final Map<String, Entry> entries;
  /** The file system of the keys, to turn them back into paths for {@link FileStateFile}. */
  private volatile java.nio.file.FileSystem keys = java.nio.file.FileSystems.getDefault();
  private final boolean bounded;
  private final LongAdder filesRead = new LongAdder();
  private final LongAdder cacheHits = new LongAdder();
  /** Bumped on every change to the entries, so a save can tell that nothing changed. */
  private final AtomicLong changes = new AtomicLong();
  /** Stamped on the entries used now; {@link FileStateFile} drops those unused for long. */
  private volatile int generation;
  private final DirectoryListings directories;
  // Watch mode (see trustUntilInvalidated): digests vouched for by a file watcher, answered
  // without a stat until an event invalidates them. Kept apart from 'entries' on purpose.
  private volatile java.util.function.Predicate<Path> watched;
  private final java.util.concurrent.ConcurrentHashMap<Path, Digest> trusted =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong invalidations =
      new java.util.concurrent.atomic.AtomicLong();

  /** A cache with the system clock, a 2 s racy window and no size limit. */
  public FileDigestCache(HashProvider provider) {
    this(builder(provider));
  }

  private FileDigestCache(Builder builder) {
    this.provider = builder.provider;
    this.clock = builder.clock != null ? builder.clock : Clock.systemUTC();
    this.racyWindowNanos =
        saturatedNanos(builder.racyWindow != null ? builder.racyWindow : DEFAULT_RACY_WINDOW);
    // Not FileStat::read, whose varargs would make an empty array on every stat.
    StatReader stat = builder.statReader != null ? builder.statReader
        : p -> FileStat.read(p, FOLLOW_LINKS);
    StatReader lstat = builder.statReader != null ? builder.statReader
        : p -> FileStat.read(p, NO_FOLLOW_LINKS);
    java.util.function.Consumer<Path> observer = builder.statObserver;
    this.nativeStats = builder.statReader == null && NativeStat.available();
    this.batchStats = nativeStats && StatBatch.available();
    this.statObserver = observer;
    this.statReader = observer == null ? stat : p -> {
      observer.accept(p);
      return stat.read(p);
    };
    this.lstatReader = observer == null ? lstat : p -> {
      observer.accept(p);
      return lstat.read(p);
    };
    this.directories = new DirectoryListings(clock, racyWindowNanos, lstatReader);
    int maxEntries = builder.maxEntries;
    this.bounded = maxEntries != Integer.MAX_VALUE;
    this.entries = !bounded ? new java.util.concurrent.ConcurrentHashMap<>()
        : new LinkedHashMap<>(16, 0.75f, true) {
          private static final long serialVersionUID = 1L;

          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
            return size() > maxEntries;
          }
        };
  }

  /** A builder for a cache in front of {@code provider}. */
  public static Builder builder(HashProvider provider) {
    return new Builder(provider);
  }

  /**
   * The digest of {@code file}'s contents, from the cache if the file is unchanged (see the class
   * documentation), else read with the provider.
   *
   * @throws NoSuchFileException if {@code file} does not exist
   * @throws IOException if it is a directory or not a regular file, or cannot be read
   */
  public Digest digest(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    Path key = normalized(file);
    java.util.function.Predicate<Path> watching = watched;
    if (watching != null && watching.test(key)) {
      Digest known = trusted.get(key);
      if (known != null) {
        cacheHits.increment();
        return known;
      }
      // An invalidation between here and the put means an event may describe a change the digest
      // below missed: then it is not trusted (the next call reads the file again).
      long epoch = invalidations.get();
      Digest read = digestChecked(key);
      synchronized (trusted) {
        if (invalidations.get() == epoch && watched == watching) {
          trusted.put(key, read);
        }
      }
      return read;
    }
    return digestChecked(key);
  }

  /**
   * {@code file.toAbsolutePath().normalize()}: {@code file} itself when it is absolute and has no
   * "." or ".." name, which {@code normalize} would return unchanged after building arrays to find
   * that out (the engine's paths are all of this kind); its string is then the key as well.
   */
  static Path normalized(Path file) {
    if (file.getFileSystem() == SLASHED && file.isAbsolute() && !hasDotName(file.toString())) {
      return file;
    }
    return file.toAbsolutePath().normalize();
  }

  /** Whether a '/'-separated path has a "." or ".." name. */
  static boolean hasDotName(String path) {
    for (int i = path.indexOf('.'); i >= 0; i = path.indexOf('.', i + 1)) {
      boolean starts = i == 0 || path.charAt(i - 1) == '/';
      int end = i + 1 < path.length() && path.charAt(i + 1) == '.' ? i + 2 : i + 1;
      if (starts && (end == path.length() || path.charAt(end) == '/')) {
        return true;
      }
    }
    return false;
  }

  private Digest digestChecked(Path key) throws IOException {
    // Taken before the stat, so that it is no later than the start of the read it vouches for.
    Instant readStart = clock.instant();
    String name = key.toString();
    FileStat before = stat(key, name);
    Digest known = lookup(name, before);
    if (known != null) {
      return known;
    }
    return read(key, name, before, readStart);
  }

  /** Reads {@code key} (stat {@code before} at {@code readStart}) and remembers it if it may. */
  private Digest read(Path key, String name, FileStat before, Instant readStart)
      throws IOException {
    for (int reads = 1; ; reads++) {
      filesRead.increment();
      Digest digest = provider.hash(key);
      FileStat after = stat(key, name);
      if (after.equals(before) && changedBefore(after, readStart)) {
        put(key, name, after, digest);
        return digest;
      }
      if (after.equals(before) || reads == MAX_READS) {
        // Stable but changed too recently to trust, or still changing after MAX_READS reads:
        // return what was read and remember nothing.
        remove(name);
        return digest;
      }
      readStart = clock.instant();
      before = after;
    }
  }

  /** The remembered digest of {@code key} if it was taken at exactly {@code stat}, else null. */
  private Digest lookup(String key, FileStat stat) {
    Entry cached = get(key);
    if (cached == null || !cached.matches(stat)) {
      return null;
    }
    cached.seen = generation;
    cacheHits.increment();
    return cached.digest;
  }

  private void put(Path path, String key, FileStat stat, Digest digest) {
    Entry e = new Entry(stat, digest, generation);
    keys = path.getFileSystem();
    Entry old;
    if (bounded) {
      synchronized (entries) {
        old = entries.put(key, e);
      }
    } else {
      old = entries.put(key, e);
    }
    if (old != null) {
      old.retired = true;
    }
    changes.incrementAndGet();
  }

  private Entry get(String key) {
    if (bounded) {
      synchronized (entries) {
        return entries.get(key); // moves it to the young end
      }
    }
    return entries.get(key);
  }

  /**
   * The digest of {@code file}'s contents if it is a regular file itself (not a symbolic link, a
   * directory or missing), else null: one {@code lstat} where {@code Files.isRegularFile(file,
   * NOFOLLOW_LINKS)} and then {@link #digest} took two. By the same rules as {@link #digest}: a
   * remembered digest is used only if the stat is exactly the one it was taken at (a regular file's
   * {@code lstat} and {@code stat} are the same), else the file is read. For outputs, whose check
   * on a null build must not follow links anyway. Watch mode's trusted digests are not used: the
   * stat is needed for the answer.
   */
  public Digest digestIfRegularFile(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    Path key = normalized(file);
    String name = key.toString();
    FileStat stat;
    try {
      stat = lstatReader.read(key);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (!stat.regularFile() || stat.directory()) {
      return null;
    }
    Digest known = lookup(name, stat);
    return known != null ? known : digestChecked(key);
  }

  /**
   * Directory listings kept by the same rules and clock, and saved with this cache by {@link
   * FileStateFile}.
   */
  public DirectoryListings directories() {
    return directories;
  }

  /**
   * Forgets {@code file}, so the next {@link #digest} reads it.
   *
   * @return the digest watch mode trusted for it, or null (a watcher compares it with the new one)
   */
  public Digest invalidate(Path file) {
    Objects.requireNonNull(file, "file");
    Path key = file.toAbsolutePath().normalize();
    Digest was;
    synchronized (trusted) {
      invalidations.incrementAndGet();
      was = trusted.remove(key);
    }
    remove(key.toString());
    return was;
  }

  /**
   * Watch mode: from now on a digest of a file {@code watched} accepts is answered without a stat
   * until {@link #invalidate} or {@link #distrustUnder} forgets it. The caller must watch those files
   * (from before this call) and invalidate every one that changes. The first digest of each file
   * after this call is checked as usual; {@code null} ends watch mode.
   */
  public void trustUntilInvalidated(java.util.function.Predicate<Path> watched) {
    synchronized (trusted) {
      invalidations.incrementAndGet();
      trusted.clear();
      this.watched = watched;
    }
  }

  /**
   * Stops trusting every file below {@code directory} (a watcher lost events there): each is
   * checked by its stat again on its next digest, which then trusts it again.
   */
  public void distrustUnder(Path directory) {
    Path dir = directory.toAbsolutePath().normalize();
    synchronized (trusted) {
      invalidations.incrementAndGet();
      trusted.keySet().removeIf(p -> p.startsWith(dir));
    }
  }

  /** Forgets every file. The counters are kept. */
  public void clear() {
    synchronized (trusted) {
      invalidations.incrementAndGet();
      trusted.clear();
    }
    synchronized (entries) {
      entries.values().forEach(e -> e.retired = true);
      entries.clear();
    }
  }

  /** How many times {@link #digest} has read a file's contents. */
  public long filesRead() {
    return filesRead.sum();
  }

  /** How many times {@link #digest} answered from the cache without reading. */
  public long cacheHits() {
    return cacheHits.sum();
  }

  private FileStat stat(Path key, String name) throws IOException {
    FileStat stat;
    try {
      stat = statReader.read(key);
    } catch (NoSuchFileException e) {
      remove(name);
      throw e;
    }
    if (!stat.regularFile() || stat.directory()) {
      remove(name);
      ChunkedHashProvider.requireRegularFile(key, stat.directory(), stat.regularFile());
    }
    return stat;
  }

  private boolean changedBefore(FileStat stat, Instant readStart) {
    return changedBefore(stat, epochNanos(readStart), racyWindowNanos);
  }

  /** The racy rule: whether {@code stat}'s last change is more than the window before the read. */
  static boolean changedBefore(FileStat stat, long readStartNanos, long racyWindowNanos) {
    long threshold;
    try {
      threshold = Math.subtractExact(readStartNanos, racyWindowNanos);
    } catch (ArithmeticException e) {
      return false; // the window reaches back before any representable time
    }
    return stat.lastChangeNanos() < threshold;
  }

  private void remove(String key) {
    Entry removed;
    if (bounded) {
      synchronized (entries) {
        removed = entries.remove(key);
      }
    } else {
      removed = entries.remove(key);
    }
    if (removed != null) {
      removed.retired = true;
      changes.incrementAndGet();
    }
  }

  // ---- for FileStateFile ----

  String algorithm() {
    return provider.algorithm();
  }

  long racyWindowNanos() {
    return racyWindowNanos;
  }

  long changes() {
    return changes.get();
  }

  void generation(int generation) {
    this.generation = generation;
  }

  /** A copy of every entry, as (path, stat, digest, generation last used). */
  List<Saved> entries() {
    synchronized (entries) {
      List<Saved> all = new ArrayList<>(entries.size());
      java.nio.file.FileSystem fs = keys;
      entries.forEach((path, e) -> all.add(new Saved(fs.getPath(path), e.stat(), e.digest, e.seen)));
      return all;
    }
  }

  /** Remembers a saved entry unless this process already knows the file. */
  void restore(Saved saved) {
    synchronized (entries) {
      keys = saved.path().getFileSystem();
      entries.putIfAbsent(saved.path().toString(),
          new Entry(saved.stat(), saved.digest(), saved.seen()));
    }
  }

  record Saved(Path path, FileStat stat, Digest digest, int seen) {}

  static long epochNanos(Instant instant) {
    try {
      return Math.addExact(
          Math.multiplyExact(instant.getEpochSecond(), 1_000_000_000L), instant.getNano());
    } catch (ArithmeticException e) {
      return instant.getEpochSecond() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** A remembered file: the stat's fields held inline, so one object per file. */
  private static final class Entry {
    final long size;
    final long mtimeNanos;
    final long ctimeNanos;
    final long dev;
    final long ino;
    final Object fileKey;
    final int flags;
    final Digest digest;
    /** The generation that last used it; a racing write of the same value is harmless. */
    int seen;
    /**
     * Set once it left the map (replaced, invalidated, found changed, cleared): a {@link
     * Remembered} holding it then no longer vouches for its digest, even at an equal stat.
     */
    volatile boolean retired;

    Entry(FileStat stat, Digest digest, int seen) {
      this.size = stat.size();
      this.mtimeNanos = stat.mtimeNanos();
      this.ctimeNanos = stat.ctimeNanos();
      this.dev = stat.dev();
      this.ino = stat.ino();
      this.fileKey = stat.fileKey();
      this.flags = stat.flags();
      this.digest = digest;
      this.seen = seen;
    }

    /** {@code stat().equals(s)}, without making the stat. */
    boolean matches(FileStat s) {
      return size == s.size() && mtimeNanos == s.mtimeNanos() && ctimeNanos == s.ctimeNanos()
          && dev == s.dev() && ino == s.ino() && flags == s.flags()
          && Objects.equals(fileKey, s.fileKey());
    }

    FileStat stat() {
      return new FileStat(size, mtimeNanos, ctimeNanos, dev, ino, fileKey, flags);
    }
  }

  /**
   * The digest this cache remembers for {@code file} and the stat it holds for, or null if it
   * remembers none: for a caller that keeps it across builds and asks {@link #stillHolds} rather
   * than {@link #digest}, which saves the path's normalization and the map lookup on every use.
   */
  public Remembered remembered(Path file) {
    Objects.requireNonNull(file, "file");
    Path key = normalized(file);
    String name = key.toString();
    Entry e = get(name);
    if (e == null) {
      return null;
    }
    byte[] encoded = nativeStats && key.getFileSystem() == java.nio.file.FileSystems.getDefault()
        ? NativeStat.encode(name) : null;
    return new Remembered(key, name, e, encoded);
  }

  /**
   * Whether {@link #digest} would now answer {@code r.digest()} from this cache without reading:
   * the entry is still the one remembered (not replaced, invalidated or cleared) and the file's
   * stat, taken now, is exactly the one it holds for. One stat, counted as a cache hit.
   */
  public boolean stillHolds(Remembered r) {
    java.util.function.Predicate<Path> watching = watched;
    if (watching == null) {
      return stillHolds(r, true);
    }
    // Watch mode: digest() answers a trusted digest without a stat, so this does too. Every
    // change to the trusted digests bumps 'invalidations' (under the lock of 'trusted'), so a
    // digest found trusted at this epoch still is while it has not moved: no stat, no lookup.
    long epoch = invalidations.get();
    if (r.trustedAt == epoch) {
      cacheHits.increment();
      return true;
    }
    if (!watching.test(r.path)) {
      return stillHolds(r, true);
    }
    Digest known = trusted.get(r.path);
    if (known != null) {
      if (!known.equals(r.entry.digest)) {
        return false; // digest() would answer another digest
      }
      r.trustedAt = epoch;
      cacheHits.increment();
      return true;
    }
    if (!stillHolds(r, true)) {
      return false;
    }
    // As digest() does after a checked answer: trusted from now on unless an event came between.
    synchronized (trusted) {
      if (invalidations.get() == epoch && watched == watching) {
        trusted.put(r.path, r.entry.digest);
        r.trustedAt = epoch;
      }
    }
    return true;
  }

  /**
   * Whether {@link #stillHolds} holds for every one of {@code files}, asked in order: false at the
   * first that does not (those after it are not counted as hits). The same answer and counts as
   * {@code stillHolds} one by one, but where the native check is available (see {@link
   * StatBatch}) the remembered regular files are all stat'ed in one native call first, instead of
   * one call per file: a null build asks this for every target's inputs.
   */
  public boolean allStillHold(Remembered[] files) {
    if (!batchStats || watched != null || files.length < 2) {
      for (Remembered r : files) {
        if (!stillHolds(r)) {
          return false;
        }
      }
      return true;
    }
    for (int from = 0; from < files.length; from += MAX_BATCH) {
      if (!allStillHold(files, from, Math.min(files.length, from + MAX_BATCH))) {
        return false;
      }
    }
    return true;
  }

  /** {@link #allStillHold} of {@code files[from, to)}, with one native call for the batchable. */
  private boolean allStillHold(Remembered[] files, int from, int to) {
    int count = 0;
    int pathBytes = 0;
    for (int i = from; i < to; i++) {
      if (batchable(files[i])) {
        count++;
        pathBytes += files[i].encoded.length;
      }
    }
    StatBatch.Batch batch = count == 0 ? null : StatBatch.batch(count, pathBytes);
    int n = 0;
    for (int i = from; i < to; i++) {
      Remembered r = files[i];
      if (batchable(r)) {
        if (statObserver != null) {
          statObserver.accept(r.path);
        }
        Entry e = r.entry;
        batch.put(n++, r.encoded, true, e.size, e.mtimeNanos, e.ctimeNanos, e.dev, e.ino);
      }
    }
    if (batch != null) {
      batch.run(count);
    }
    n = 0;
    for (int i = from; i < to; i++) {
      Remembered r = files[i];
      // batchable() depends only on final fields, so it picks out the same files as above.
      boolean held = batchable(r) ? held(r, batch.result(n++), true) : stillHolds(r, true);
      if (!held) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code r}'s file can be checked by {@link NativeStat#isRegularFileAt} or {@link
   * StatBatch}: a regular file remembered with a Unix identity, its path encoded.
   */
  private static boolean batchable(Remembered r) {
    return r.encoded != null && r.entry.fileKey == null && r.entry.flags == UNIX_REGULAR_FILE;
  }

  /**
   * Whether {@link #digestIfRegularFile} would now answer {@code r.digest()} from this cache
   * without reading: the entry is still the one remembered and the file's {@code lstat}, taken
   * now, is exactly the one it holds for (so it is a regular file itself, not a link). One
   * {@code lstat}, counted as a cache hit.
   */
  public boolean stillHoldsRegularFile(Remembered r) {
    return stillHolds(r, false);
  }

  private boolean stillHolds(Remembered r, boolean followLinks) {
    Entry e = r.entry;
    if (e.retired) {
      return false;
    }
    if (batchable(r)) {
      // The usual case: compared in native memory, without a stat object per file.
      if (statObserver != null) {
        statObserver.accept(r.path);
      }
      int same;
      if (batchStats) {
        StatBatch.Batch batch = StatBatch.batch(1, r.encoded.length);
        batch.put(0, r.encoded, followLinks, e.size, e.mtimeNanos, e.ctimeNanos, e.dev, e.ino);
        batch.run(1);
        same = batch.result(0);
      } else {
        try {
          same = NativeStat.isRegularFileAt(r.encoded, r.name, followLinks, e.size,
              e.mtimeNanos, e.ctimeNanos, e.dev, e.ino);
        } catch (IOException missing) {
          return false; // digest() and digestIfRegularFile() report it
        }
      }
      return held(r, same, followLinks);
    }
    FileStat now;
    try {
      now = stat(r, followLinks);
    } catch (IOException e2) {
      return false; // missing or unreadable: digest() and digestIfRegularFile() report it
    }
    return held(r, now);
  }

  /**
   * Whether {@code r} holds, its batchable file's native check having answered {@code same}
   * ({@link NativeStat#SAME}, {@code CHANGED}, or {@code UNKNOWN}: then the JDK's stat decides).
   */
  private boolean held(Remembered r, int same, boolean followLinks) {
    Entry e = r.entry;
    if (e.retired) {
      return false;
    }
    if (same == NativeStat.UNKNOWN) {
      FileStat now;
      try {
        now = FileStat.readJdk(r.path, linkOptions(followLinks));
      } catch (IOException e2) {
        return false; // missing or unreadable: digest() and digestIfRegularFile() report it
      }
      return held(r, now);
    }
    if (same != NativeStat.SAME || e.retired) {
      return false;
    }
    e.seen = generation;
    cacheHits.increment();
    return true;
  }

  /** Whether {@code r} holds at its file's stat {@code now}. */
  private boolean held(Remembered r, FileStat now) {
    Entry e = r.entry;
    if (!now.regularFile() || now.directory() || !e.matches(now) || e.retired) {
      return false;
    }
    e.seen = generation;
    cacheHits.increment();
    return true;
  }

  /**
   * {@code r}'s file's stat ({@code lstat} unless {@code followLinks}), by the readers' rules: from
   * the path {@code r} keeps encoded where there is one, else through the reader.
   */
  private FileStat stat(Remembered r, boolean followLinks) throws IOException {
    if (r.encoded != null) {
      if (statObserver != null) {
        statObserver.accept(r.path);
      }
      FileStat now = NativeStat.read(r.encoded, r.name, followLinks);
      if (now != null) {
        return now;
      }
      return FileStat.readJdk(r.path, linkOptions(followLinks));
    }
    return (followLinks ? statReader : lstatReader).read(r.path);
  }

  private static java.nio.file.LinkOption[] linkOptions(boolean followLinks) {
    return followLinks ? FOLLOW_LINKS : NO_FOLLOW_LINKS; // shared: FileStat only reads them
  }

  /** A remembered digest with its file, as {@link #remembered} hands it out. */
  public static final class Remembered {
    private final Path path;
    private final Entry entry;
    /** The path as {@link NativeStat} reads it, encoded once; null: stats go through the reader. */
    private final byte[] encoded;
    private final String name;
    /** The invalidation epoch at which watch mode was seen to trust this digest; none yet. */
    private volatile long trustedAt = Long.MIN_VALUE;

    private Remembered(Path path, String name, Entry entry, byte[] encoded) {
      this.path = path;
      this.entry = entry;
      this.encoded = encoded;
      this.name = name;
    }

    public Digest digest() {
      return entry.digest;
    }
  }

  /** How the cache learns a file's stat; tests substitute one to pin timestamps. */
  @FunctionalInterface
  interface StatReader {
    FileStat read(Path file) throws IOException;
  }

  /**
   * Configures a {@link FileDigestCache}. Each setting may be given once. Not thread-safe.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final HashProvider provider;
    private Clock clock;
    private Duration racyWindow;
    private int maxEntries = Integer.MAX_VALUE;
    private boolean maxEntriesSet;
    private StatReader statReader;
    private java.util.function.Consumer<Path> statObserver;

    private Builder(HashProvider provider) {
      this.provider = Objects.requireNonNull(provider, "provider");
    }

    /** The clock compared with file timestamps; must follow the file system's wall clock. */
    public Builder clock(Clock clock) {
      Objects.requireNonNull(clock, "clock");
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set to " + this.clock);
      }
      this.clock = clock;
      return this;
    }

    /**
     * How much older than the start of a read a file's last change must be for its digest to be
     * remembered (default 2 s): at least the file system's timestamp granularity plus any lag of
     * its clock behind {@link #clock(Clock)}. See the class documentation.
     */
    public Builder racyWindow(Duration racyWindow) {
      Objects.requireNonNull(racyWindow, "racyWindow");
      if (this.racyWindow != null) {
        throw new IllegalStateException("racy window was already set to " + this.racyWindow);
      }
      if (racyWindow.isNegative()) {
        throw new IllegalArgumentException("racy window must not be negative but was " + racyWindow);
      }
      this.racyWindow = racyWindow;
      return this;
    }

    /** At most this many files are remembered, the least recently used evicted first. */
    public Builder maxEntries(int maxEntries) {
      if (maxEntriesSet) {
        throw new IllegalStateException("max entries was already set to " + this.maxEntries);
      }
      if (maxEntries < 1) {
        throw new IllegalArgumentException("max entries must be at least 1 but was " + maxEntries);
      }
      this.maxEntries = maxEntries;
      this.maxEntriesSet = true;
      return this;
    }

    /**
     * Test seam: told the path of every {@code stat} and {@code lstat} this cache makes, before it
     * is made (tests count them; never set in production).
     */
    public Builder statObserver(java.util.function.Consumer<Path> observer) {
      this.statObserver = Objects.requireNonNull(observer, "observer");
      return this;
    }

    Builder statReader(StatReader statReader) {
      this.statReader = Objects.requireNonNull(statReader, "statReader");
      return this;
    }

    public FileDigestCache build() {
      return new FileDigestCache(this);
    }
  }
}
