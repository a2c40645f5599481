package dev.buildnet.internal.hash;

import java.io.IOException;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * One {@code lstat} of a path that should be a directory: its type, identity (device, inode) and
 * modification and change times. Two stamps of a directory are {@link #sameAs} each other only if
 * no entry was created, removed or renamed in it in between, unless that happened within the
 * file system's timestamp granularity of the directory's last change (a creation sets the
 * directory's ctime, which no process can set back; the caller rules out that window, see
 * {@code dev.buildnet.internal.worker.Sandbox}). Read through {@link NativeStat} where it can
 * answer (one {@code statx}, no allocation but this object), else the JDK.
 */
public final class DirectoryStamp {
  private final FileStat stat;

  private DirectoryStamp(FileStat stat) {
    this.stat = stat;
  }

  /**
   * The {@code lstat} of {@code path} (a symbolic link is not followed).
   *
   * @throws java.nio.file.NoSuchFileException if nothing is there
   */
  public static DirectoryStamp read(Path path) throws IOException {
    return new DirectoryStamp(FileStat.read(path, LinkOption.NOFOLLOW_LINKS));
  }

  /** Whether the path is a directory itself (not a symbolic link to one, not a file). */
  public boolean isDirectory() {
    return stat.directory();
  }

  /**
   * Whether {@link #sameAs} can ever be true: a Unix identity and a known change time (elsewhere,
   * without a ctime that cannot be set back, nothing is concluded from stamps).
   */
  public boolean comparable() {
    return stat.hasUnixId() && stat.ctimeNanos() != FileStat.UNKNOWN
        && stat.mtimeNanos() != FileStat.UNKNOWN;
  }

  /** Both comparable directories with the same identity, times and size. */
  public boolean sameAs(DirectoryStamp other) {
    if (other == null || !comparable() || !other.comparable()) {
      return false;
    }
    FileStat a = stat;
    FileStat b = other.stat;
    return a.flags() == b.flags() && a.directory() && a.dev() == b.dev() && a.ino() == b.ino()
        && a.ctimeNanos() == b.ctimeNanos() && a.mtimeNanos() == b.mtimeNanos()
        && a.size() == b.size();
  }

  @Override
  public String toString() {
    return (stat.directory() ? "directory" : "not a directory") + " dev " + stat.dev() + " ino "
        + stat.ino() + " mtime " + stat.mtimeNanos() + " ctime " + stat.ctimeNanos();
  }
}
