package dev.buildnet.internal.hash;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What {@link FileDigestCache} compares to decide a file is unchanged: size, modification time,
 * identity (device and inode on Unix, so a file replaced by rename is noticed) and, on Unix, the
 * change time, which unlike mtime cannot be set back by {@code touch -d} or {@code cp -p}.
 * Unknown parts are {@link #UNKNOWN} or null and compare equal to themselves.
 *
 * <p>The Unix identity is two plain numbers ({@code dev}, {@code ino}, valid where {@link
 * #hasUnixId()}), so that {@link FileStateFile} can keep it across processes and the caches can
 * keep it without an object per file; {@code fileKey} is the platform's own identity elsewhere.
 */
record FileStat(
    long size,
    long mtimeNanos,
    long ctimeNanos,
    long dev,
    long ino,
    Object fileKey,
    int flags) {

  static final long UNKNOWN = Long.MIN_VALUE;
  static final int REGULAR_FILE = 1;
  static final int DIRECTORY = 2;
  /** {@code dev} and {@code ino} are the identity. */
  static final int UNIX_ID = 4;

  /**
   * The type comes from {@code mode} rather than {@code isRegularFile,isDirectory}: the JDK splits
   * this list and builds a set and a map of it on every call, so every name left out counts.
   */
  private static final String UNIX_ATTRIBUTES = "unix:size,lastModifiedTime,ctime,dev,ino,mode";
  static final int S_IFMT = 0170000;
  static final int S_IFREG = 0100000;
  private static final int S_IFDIR = 0040000;
  private static final FileSystem DEFAULT = FileSystems.getDefault();
  private static final boolean UNIX = DEFAULT.supportedFileAttributeViews().contains("unix");

  /** A stat without a Unix identity (another platform, or a test's). */
  FileStat(long size, long mtimeNanos, long ctimeNanos, Object fileKey, boolean regularFile,
      boolean directory) {
    this(size, mtimeNanos, ctimeNanos, 0, 0, fileKey,
        (regularFile ? REGULAR_FILE : 0) | (directory ? DIRECTORY : 0));
  }

  /** A Unix stat: {@code mode} is {@code st_mode}, of which only the type is kept. */
  static FileStat unix(long size, long mtimeNanos, long ctimeNanos, long dev, long ino, int mode) {
    int type = mode & S_IFMT;
    return new FileStat(size, mtimeNanos, ctimeNanos, dev, ino, null,
        UNIX_ID | (type == S_IFREG ? REGULAR_FILE : 0) | (type == S_IFDIR ? DIRECTORY : 0));
  }

  boolean regularFile() {
    return (flags & REGULAR_FILE) != 0;
  }

  boolean directory() {
    return (flags & DIRECTORY) != 0;
  }

  boolean hasUnixId() {
    return (flags & UNIX_ID) != 0;
  }

  /**
   * Reads how {@code file} is now with one {@code stat} call, following symbolic links unless
   * {@code options} says {@link java.nio.file.LinkOption#NOFOLLOW_LINKS} ({@code lstat}): through
   * {@link NativeStat} where it can answer, else through the JDK, with the same result.
   */
  static FileStat read(Path file, LinkOption... options) throws IOException {
    if (NativeStat.available() && file.getFileSystem() == DEFAULT) {
      boolean follow = options.length == 0 || options[0] != LinkOption.NOFOLLOW_LINKS;
      for (int i = 1; i < options.length && follow; i++) {
        follow = options[i] != LinkOption.NOFOLLOW_LINKS;
      }
      FileStat stat = NativeStat.read(file.toString(), follow);
      if (stat != null) {
        return stat;
      }
    }
    return readJdk(file, options);
  }

  /** {@link #read} through the JDK's attribute views alone. */
  static FileStat readJdk(Path file, LinkOption... options) throws IOException {
    if (file.getFileSystem() == DEFAULT ? UNIX
        : file.getFileSystem().supportedFileAttributeViews().contains("unix")) {
      Map<String, Object> a = Files.readAttributes(file, UNIX_ATTRIBUTES, options);
      return unix(
          (Long) a.get("size"),
          nanos((FileTime) a.get("lastModifiedTime")),
          nanos((FileTime) a.get("ctime")),
          (Long) a.get("dev"),
          (Long) a.get("ino"),
          (Integer) a.get("mode"));
    }
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, options);
    return new FileStat(
        a.size(),
        nanos(a.lastModifiedTime()),
        UNKNOWN,
        a.fileKey(),
        a.isRegularFile(),
        a.isDirectory());
  }

  private static long nanos(FileTime time) {
    return time == null ? UNKNOWN : time.to(TimeUnit.NANOSECONDS);
  }

  /**
   * The latest recorded change, in nanoseconds since the epoch: ctime moves on every write and
   * every metadata change, so where it is known it is never earlier than a content change even
   * when mtime was set back.
   */
  long lastChangeNanos() {
    return Math.max(mtimeNanos, ctimeNanos);
  }
}
