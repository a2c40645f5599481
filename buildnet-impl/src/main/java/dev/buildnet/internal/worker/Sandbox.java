package dev.buildnet.internal.worker;

import dev.buildnet.internal.hash.DirectoryStamp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's sandbox directory, handed from attempt to attempt, and what is known about it: the
 * checks an attempt makes of it ({@link #own} before its command, {@link #isEmpty} or {@link
 * #empty} after) with as few system calls as is safe.
 *
 * <p>Before the command: one {@code lstat}, and a sandbox replaced by a symbolic link or a file is
 * removed (never followed) and made again. After it: the sandbox may be reused only if it is
 * empty. Listing it takes five system calls (open, fstat, two getdents, close); once it is known
 * to be empty at a given stamp (its {@code lstat}: identity, mtime and ctime), a stamp taken after
 * the command that is the same as that one and as the stamp taken before the command shows that
 * nothing was created in it meanwhile (creating, removing or renaming an entry sets the
 * directory's ctime, which no process can set back), so two {@code lstat}s replace the listing.
 *
 * <p>Where that could miss a change: a file system keeps times at some granularity (nanoseconds
 * on ext4 and tmpfs, up to two seconds on FAT), and an entry created within the same tick as the
 * directory's last change leaves ctime as it was. So a stamp is trusted only once two listings,
 * each made after taking that same stamp, found the directory empty at least {@link #SETTLE_NANOS}
 * apart by this JVM's monotonic clock: the tick holding the directory's last change then ended
 * before the second listing, and any change after it moves ctime. That needs no agreement
 * between this clock and the file system's (a network file system's server may be skewed).
 * Until then, and whenever a stamp differs or cannot be read, the directory is listed as before.
 * Without a Unix identity and ctime (see {@link DirectoryStamp#comparable}) it is always listed.
 *
 * <p>Not thread-safe: one attempt uses a sandbox at a time, and the worker hands it to the next
 * through a concurrent queue (which orders the two).
 */
public final class Sandbox {
  private static final Logger log = LoggerFactory.getLogger(Sandbox.class);
  /** Longer than any file system's timestamp granularity (FAT's two seconds). */
  static final long SETTLE_NANOS = 2_100_000_000L;

  private final Path dir;
  private final LongSupplier nanoTime;
  /** A stamp taken before a listing that found the directory empty; null if none. */
  private DirectoryStamp emptyAt;
  /** When the first listing that found it empty at {@link #emptyAt} had ended. */
  private long emptySince;
  /** A second listing at least {@link #SETTLE_NANOS} after that one found it empty too. */
  private boolean settled;
  /** The stamp {@link #own} took for the attempt using the sandbox now; null if none. */
  private DirectoryStamp before;

  public Sandbox(Path dir) {
    this(dir, System::nanoTime);
  }

  Sandbox(Path dir, LongSupplier nanoTime) {
    this.dir = dir;
    this.nanoTime = nanoTime;
  }

  public Path dir() {
    return dir;
  }

  /**
   * Makes the sandbox a directory of its own before anything is placed or run in it, with one
   * {@code lstat}. A reused sandbox was an empty directory when its last attempt ended, but a
   * process that escaped an earlier attempt (or an in-process command) may have replaced it since
   * with a symbolic link or a file: that is removed, never followed, and the directory made again,
   * so no attempt writes or runs where a link points.
   */
  void own() throws IOException {
    before = null;
    DirectoryStamp s;
    try {
      s = DirectoryStamp.read(dir);
    } catch (NoSuchFileException e) {
      forget();
      Files.createDirectories(dir); // a new sandbox
      return;
    }
    if (!s.isDirectory()) {
      forget();
      log.warn("the sandbox {} had been replaced by a {}: removed and made again", dir,
          Files.isSymbolicLink(dir) ? "symbolic link" : "file");
      Files.delete(dir); // the link itself, not what it points to
      Files.createDirectory(dir);
      return;
    }
    before = s;
  }

  /**
   * Whether the sandbox is an empty directory now, after the attempt's command: one {@code lstat}
   * where the stamps show it (see the class documentation), else a listing (false if it cannot be
   * listed).
   */
  boolean isEmpty() {
    return unchanged() || listEmpty();
  }

  /**
   * Deletes everything in the sandbox, keeping the directory; false if anything is left (or it is
   * not a directory of its own), and then it must not be reused.
   */
  boolean empty() {
    if (unchanged()) {
      return true;
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      forget();
      return false;
    }
    // Most attempts (a command with no inputs or outputs) leave the sandbox empty: one listing
    // says so, without the walk and its sort.
    if (listEmpty()) {
      return true;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        if (!p.equals(dir)) {
          p.toFile().setWritable(true);
          Files.deleteIfExists(p);
        }
      }
    } catch (IOException | RuntimeException e) {
      forget();
      log.warn("cannot empty {}: {}", dir, e.toString());
      return false;
    }
    return listEmpty();
  }

  /**
   * Whether the stamps show the sandbox empty and unchanged since it was last listed: settled,
   * the same before the command (see {@link #own}) and now. One {@code lstat}; false (list it)
   * otherwise.
   */
  private boolean unchanged() {
    DirectoryStamp b = before;
    before = null;
    if (!settled || b == null || !b.sameAs(emptyAt)) {
      return false;
    }
    try {
      return DirectoryStamp.read(dir).sameAs(emptyAt);
    } catch (IOException | RuntimeException e) {
      return false; // listed next, which says what is wrong
    }
  }

  /**
   * Lists the sandbox; if it is empty, notes the stamp taken just before (the stamp a later
   * attempt compares with, see the class documentation).
   */
  private boolean listEmpty() {
    long start = nanoTime.getAsLong();
    DirectoryStamp s;
    try {
      s = DirectoryStamp.read(dir);
    } catch (IOException | RuntimeException e) {
      s = null;
    }
    // A symbolic link to an empty directory is not an empty sandbox (File.list follows it).
    boolean empty = isEmptyDirectory(dir) && (s == null || s.isDirectory());
    if (!empty || s == null || !s.comparable()) {
      forget();
    } else if (s.sameAs(emptyAt)) {
      settled |= start - emptySince >= SETTLE_NANOS;
    } else {
      emptyAt = s;
      emptySince = nanoTime.getAsLong();
      settled = false;
    }
    return empty;
  }

  private void forget() {
    emptyAt = null;
    settled = false;
  }

  /** Whether the sandbox is trusted to be empty at its stamp: for tests. */
  boolean settled() {
    return settled;
  }

  /** Whether {@code dir} is a directory with nothing in it (false if it cannot be listed). */
  static boolean isEmptyDirectory(Path dir) {
    // File.list rather than a DirectoryStream: that one (a secure stream on Linux) dups the
    // directory's descriptor and takes locks per entry; this runs once per attempt. null: not a
    // directory, or an I/O error, which the caller's walk reports (or survives if transient).
    String[] names;
    try {
      names = dir.toFile().list();
    } catch (RuntimeException e) {
      return false;
    }
    return names != null && names.length == 0;
  }

  @Override
  public String toString() {
    return dir.toString();
  }
}
