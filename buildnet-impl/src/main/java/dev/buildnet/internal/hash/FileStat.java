package dev.buildnet.internal.hash;

import java.io.IOException;
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
 */
record FileStat(
    long size,
    long mtimeNanos,
    long ctimeNanos,
    Object fileKey,
    boolean regularFile,
    boolean directory) {

  static final long UNKNOWN = Long.MIN_VALUE;

  /**
   * The type comes from {@code mode} rather than {@code isRegularFile,isDirectory}: the JDK splits
   * this list and builds a set and a map of it on every call, which is most of what a null build
   * allocates, so every name left out counts.
   */
  private static final String UNIX_ATTRIBUTES = "unix:size,lastModifiedTime,ctime,dev,ino,mode";
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFDIR = 0040000;

  /**
   * A file's identity on Unix: device and inode, as plain numbers so that {@link FileStateFile}
   * can keep it across processes (the JDK's own file key cannot be written down).
   */
  record UnixId(long dev, long ino) {}

  /**
   * Reads how {@code file} is now with one {@code stat} call, following symbolic links unless
   * {@code options} says {@link java.nio.file.LinkOption#NOFOLLOW_LINKS} ({@code lstat}).
   */
  static FileStat read(Path file, LinkOption... options) throws IOException {
    if (file.getFileSystem().supportedFileAttributeViews().contains("unix")) {
      Map<String, Object> a = Files.readAttributes(file, UNIX_ATTRIBUTES, options);
      int type = (Integer) a.get("mode") & S_IFMT;
      return new FileStat(
          (Long) a.get("size"),
          nanos((FileTime) a.get("lastModifiedTime")),
          nanos((FileTime) a.get("ctime")),
          new UnixId((Long) a.get("dev"), (Long) a.get("ino")),
          type == S_IFREG,
          type == S_IFDIR);
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
