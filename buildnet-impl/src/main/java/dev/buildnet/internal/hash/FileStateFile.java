package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.Digest;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a workspace's {@link FileDigestCache} and {@link DirectoryListings} in one compact file
 * (by default {@code .buildnet/filestate}), so that a fresh process stats files and reads only
 * those that changed. Load it once at start and {@link #save} it when a build ends.
 *
 * <h2>Format</h2>
 *
 * A header (magic, format version, the hash algorithm, the racy window, a generation counter and
 * when it was written), the file entries (path relative to the workspace, size, mtime, ctime,
 * device, inode, digest, last generation used), the directory entries (the same stat, then the
 * names and kinds), and a CRC32C of everything before it. It is written to a temporary file,
 * forced to disk and renamed over the old one, so a reader sees the old file or the new one.
 *
 * <h2>Trust</h2>
 *
 * A file that is missing, truncated, corrupt, of another format version, made with another hash
 * algorithm or racy window, or unreadable is ignored as a whole (one log line; nothing of it is
 * used) and replaced at the next save. Only entries that passed the racy rule were ever
 * remembered; as a second guard (git's rule for its index) an entry whose last change is not more
 * than the racy window older than the moment the file was written is dropped on load.
 *
 * <h2>Size</h2>
 *
 * Each save stamps the entries used since the previous one with a new generation; entries not
 * used in the last {@value #KEEP_GENERATIONS} saves are dropped, as are files found missing
 * (the caches forget those). A save with nothing new to write does not touch the file, so a
 * null build writes nothing.
 *
 * <p>Thread-safe; {@link #save} may run while another build uses the caches.
 */
public final class FileStateFile {
  /** Saves an entry may go unused before it is dropped. */
  static final int KEEP_GENERATIONS = 32;

  private static final Logger LOG = LoggerFactory.getLogger(FileStateFile.class);
  private static final int MAGIC = 0x424E4653; // "BNFS"
  private static final int VERSION = 1;
  private static final int TRAILER = Long.BYTES;

  private final Path file;
  private final Path root;
  private final FileDigestCache digests;
  private final DirectoryListings directories;
  private final Clock clock;
  // ---- guarded by this ----
  private int generation;
  private long savedDigestChanges = -1;
  private long savedDirectoryChanges = -1;

  /**
   * State for the files below {@code workspace}, kept in {@code file}. Nothing is read until
   * {@link #load}.
   */
  public FileStateFile(Path file, Path workspace, FileDigestCache digests) {
    this(file, workspace, digests, digests.directories(), Clock.systemUTC());
  }

  FileStateFile(Path file, Path workspace, FileDigestCache digests, DirectoryListings directories,
      Clock clock) {
    this.file = Objects.requireNonNull(file, "file");
    this.root = workspace.toAbsolutePath().normalize();
    this.digests = Objects.requireNonNull(digests, "digests");
    this.directories = Objects.requireNonNull(directories, "directories");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Loads the saved entries into the caches (entries the caches already hold win). Never throws
   * for the file's content: one that cannot be used is logged once and ignored.
   */
  public synchronized void load() {
    Loaded loaded = null;
    try {
      loaded = read(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      // First build of this workspace: nothing to load.
    } catch (IOException | RuntimeException e) {
      LOG.info("ignoring the file state {} and rebuilding it: {}", file, e.getMessage());
    }
    if (loaded != null) {
      loaded.files.forEach(digests::restore);
      loaded.directories.forEach(directories::restore);
      generation = loaded.generation;
    }
    use(generation + 1);
    // Loading changed the caches, but not what is worth writing.
    savedDigestChanges = digests.changes();
    savedDirectoryChanges = directories.changes();
  }

  /**
   * Writes the caches' entries if they changed since the last load or save. Never throws: a
   * failure is logged once per save and the next save tries again.
   */
  public synchronized void save() {
    long digestChanges = digests.changes();
    long directoryChanges = directories.changes();
    if (digestChanges == savedDigestChanges && directoryChanges == savedDirectoryChanges) {
      return;
    }
    int current = generation + 1;
    // One name, so a process killed while writing leaves nothing that piles up. Saves run under
    // the workspace lock; were two ever to interleave here, the checksum rejects the result.
    Path temp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.createDirectories(file.getParent());
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        write(Channels.newOutputStream(channel), current);
        channel.force(true);
      }
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not save the file state {}: {}", file, e.toString());
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // The next save truncates it.
      }
      return;
    }
    generation = current;
    use(current + 1);
    savedDigestChanges = digestChanges;
    savedDirectoryChanges = directoryChanges;
  }

  private void use(int next) {
    digests.generation(next);
    directories.generation(next);
  }

  // ---- writing ----

  private void write(OutputStream raw, int current) throws IOException {
    CRC32C crc = new CRC32C();
    DataOutputStream out = new DataOutputStream(
        new CheckedOutputStream(new BufferedOutputStream(raw, 1 << 16), crc));
    long savedAt = FileDigestCache.epochNanos(clock.instant());
    out.writeInt(MAGIC);
    out.writeInt(VERSION);
    out.writeUTF(digests.algorithm());
    out.writeLong(digests.racyWindowNanos());
    out.writeInt(current);
    out.writeLong(savedAt);
    int oldest = current - KEEP_GENERATIONS;
    List<FileDigestCache.Saved> files = new ArrayList<>();
    for (FileDigestCache.Saved s : digests.entries()) {
      if (s.seen() > oldest && relative(s.path()) != null && storable(s.stat())) {
        files.add(s);
      }
    }
    out.writeInt(files.size());
    for (FileDigestCache.Saved s : files) {
      out.writeUTF(relative(s.path()));
      writeStat(out, s.stat());
      out.writeInt(s.seen());
      byte[] digest = s.digest().bytes();
      out.writeShort(digest.length);
      out.write(digest);
    }
    List<DirectoryListings.Saved> dirs = new ArrayList<>();
    for (DirectoryListings.Saved s : directories.entries()) {
      if (s.seen() > oldest && relative(s.path()) != null && storable(s.stat())) {
        dirs.add(s);
      }
    }
    out.writeInt(dirs.size());
    for (DirectoryListings.Saved s : dirs) {
      out.writeUTF(relative(s.path()));
      writeStat(out, s.stat());
      out.writeInt(s.seen());
      String[] names = s.listing().names();
      DirectoryListings.Kind[] kinds = s.listing().kinds();
      out.writeInt(names.length);
      for (int i = 0; i < names.length; i++) {
        out.writeUTF(names[i]);
        out.writeByte(kinds[i].ordinal());
      }
    }
    out.flush();
    // The checksum covers everything above; it is written outside it.
    new DataOutputStream(raw).writeLong(crc.getValue());
  }

  /** '/'-separated path below the workspace, or null for a path outside it. */
  private String relative(Path path) {
    if (path.equals(root)) {
      return ".";
    }
    if (!path.startsWith(root)) {
      return null;
    }
    String rel = root.relativize(path).toString();
    String separator = path.getFileSystem().getSeparator();
    rel = separator.equals("/") ? rel : rel.replace(separator, "/");
    // writeUTF's limit; such a path is simply not remembered across processes.
    return rel.length() > 16_000 ? null : rel;
  }

  /** Only identities that can be written down and compared again in another process. */
  private static boolean storable(FileStat stat) {
    return stat.fileKey() == null;
  }

  private static void writeStat(DataOutputStream out, FileStat stat) throws IOException {
    out.writeLong(stat.size());
    out.writeLong(stat.mtimeNanos());
    out.writeLong(stat.ctimeNanos());
    out.writeBoolean(stat.hasUnixId());
    if (stat.hasUnixId()) {
      out.writeLong(stat.dev());
      out.writeLong(stat.ino());
    }
    out.writeByte((stat.regularFile() ? 1 : 0) | (stat.directory() ? 2 : 0));
  }

  // ---- reading ----

  private record Loaded(int generation, List<FileDigestCache.Saved> files,
      List<DirectoryListings.Saved> directories) {}

  /** Parses a whole file, or throws: nothing of a file that fails anywhere is used. */
  private Loaded read(byte[] bytes) throws IOException {
    if (bytes.length < 8 + TRAILER) {
      throw new IOException("it is truncated (" + bytes.length + " bytes)");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - TRAILER);
    DataInputStream trailer = new DataInputStream(
        new ByteArrayInputStream(bytes, bytes.length - TRAILER, TRAILER));
    DataInputStream in = new DataInputStream(
        new ByteArrayInputStream(bytes, 0, bytes.length - TRAILER));
    if (in.readInt() != MAGIC) {
      throw new IOException("it is not a BuildNet file state");
    }
    int version = in.readInt();
    if (version != VERSION) {
      throw new IOException("it has format version " + version + ", this BuildNet reads "
          + VERSION);
    }
    if (trailer.readLong() != crc.getValue()) {
      throw new IOException("its checksum does not match (truncated or corrupt)");
    }
    String algorithm = in.readUTF();
    if (!algorithm.equals(digests.algorithm())) {
      throw new IOException("it holds " + algorithm + " digests, this BuildNet uses "
          + digests.algorithm());
    }
    long window = in.readLong();
    if (window != digests.racyWindowNanos() || window != directories.racyWindowNanos()) {
      throw new IOException("it was made with another racy window");
    }
    int saved = in.readInt();
    long savedAt = in.readLong();
    int fileCount = count(in, bytes.length);
    List<FileDigestCache.Saved> files = new ArrayList<>(fileCount);
    for (int i = 0; i < fileCount; i++) {
      Path path = resolve(in.readUTF());
      FileStat stat = readStat(in);
      int seen = in.readInt();
      byte[] digest = new byte[in.readUnsignedShort()];
      in.readFully(digest);
      if (trusted(stat, savedAt, window)) {
        files.add(new FileDigestCache.Saved(path, stat, Digest.of(algorithm, digest), seen));
      }
    }
    int dirCount = count(in, bytes.length);
    List<DirectoryListings.Saved> dirs = new ArrayList<>(dirCount);
    DirectoryListings.Kind[] kinds = DirectoryListings.Kind.values();
    for (int i = 0; i < dirCount; i++) {
      Path path = resolve(in.readUTF());
      FileStat stat = readStat(in);
      int seen = in.readInt();
      int n = count(in, bytes.length);
      String[] names = new String[n];
      DirectoryListings.Kind[] entryKinds = new DirectoryListings.Kind[n];
      for (int k = 0; k < n; k++) {
        names[k] = in.readUTF();
        if (names[k].isEmpty() || names[k].contains("/") || names[k].equals(".")
            || names[k].equals("..") || (k > 0 && names[k - 1].compareTo(names[k]) >= 0)) {
          throw new IOException("it lists a bad entry name in " + path);
        }
        int kind = in.readUnsignedByte();
        if (kind >= kinds.length) {
          throw new IOException("it has an unknown entry kind " + kind);
        }
        entryKinds[k] = kinds[kind];
      }
      if (trusted(stat, savedAt, window)) {
        dirs.add(new DirectoryListings.Saved(path, stat,
            new DirectoryListings.Listing(names, entryKinds), seen));
      }
    }
    if (in.available() != 0) {
      throw new IOException("it has " + in.available() + " bytes after its entries");
    }
    return new Loaded(saved, files, dirs);
  }

  private static int count(DataInputStream in, int fileLength) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > fileLength) {
      throw new IOException("it has a bad entry count " + n);
    }
    return n;
  }

  /** The racy rule again, against the moment the file was written (git's rule for its index). */
  private static boolean trusted(FileStat stat, long savedAt, long window) {
    return FileDigestCache.changedBefore(stat, savedAt, window);
  }

  private Path resolve(String relative) throws IOException {
    Path path = relative.equals(".") ? root : root.resolve(relative).normalize();
    if (relative.startsWith("/") || !path.startsWith(root)) {
      throw new IOException("it names a path outside the workspace: " + relative);
    }
    return path;
  }

  private static FileStat readStat(DataInputStream in) throws IOException {
    long size = in.readLong();
    long mtime = in.readLong();
    long ctime = in.readLong();
    boolean unixId = in.readBoolean();
    long dev = unixId ? in.readLong() : 0;
    long ino = unixId ? in.readLong() : 0;
    int type = in.readUnsignedByte();
    int flags = ((type & 1) != 0 ? FileStat.REGULAR_FILE : 0)
        | ((type & 2) != 0 ? FileStat.DIRECTORY : 0) | (unixId ? FileStat.UNIX_ID : 0);
    return new FileStat(size, mtime, ctime, dev, ino, null, flags);
  }
}
