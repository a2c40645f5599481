package dev.buildnet.internal.cache;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.cache.Outputs.OutputException;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * The file rules local runs ({@link Outputs}) and the Java worker ({@code internal.worker}) share:
 * what a declared output may be, which files it holds, and how a blob is placed at a path. One
 * rule for symbolic links everywhere: a declared output that is one, or a directory output with
 * one anywhere inside, is refused with a one-line error naming the path (a link's target is
 * outside what BuildNet stores and restores, so caching it would restore something else).
 */
public final class FileTrees {
  private FileTrees() {}

  /** What a declared output turned out to be. */
  public enum Kind { FILE, DIRECTORY }

  /**
   * What the declared output {@code declared} at {@code path} is.
   *
   * @throws OutputException if it was not produced, is a symbolic link, or is neither a regular
   *     file nor a directory
   */
  public static Kind kind(String declared, Path path) throws IOException {
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new OutputException("declared output '" + declared + "' was not produced");
    }
    if (attrs.isSymbolicLink()) {
      throw new OutputException("declared output '" + declared + "' is a symbolic link: outputs "
          + "must be regular files or directories (copy the file instead of linking it)");
    }
    if (attrs.isDirectory()) {
      return Kind.DIRECTORY;
    }
    if (attrs.isRegularFile()) {
      return Kind.FILE;
    }
    throw new OutputException(
        "declared output '" + declared + "' must be a regular file or directory");
  }

  /**
   * Every regular file below the directory output {@code dir}, sorted by path (other special
   * files, such as sockets, are not outputs and are left out).
   *
   * @param root what the path in the error is relative to (the workspace or the sandbox)
   * @throws OutputException naming the first symbolic link found below {@code dir}
   */
  public static List<Path> filesBelow(Path root, String declared, Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    List<Path> links = new ArrayList<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (attrs.isSymbolicLink()) {
          links.add(file);
        } else if (attrs.isRegularFile()) {
          files.add(file);
        }
        return FileVisitResult.CONTINUE;
      }
    });
    if (!links.isEmpty()) {
      links.sort(Comparator.naturalOrder());
      throw new OutputException("declared output '" + declared + "' contains a symbolic link, '"
          + root.relativize(links.get(0)).toString().replace(java.io.File.separatorChar, '/')
          + "': outputs must be regular files or directories (copy the file instead of linking it)");
    }
    files.sort(Comparator.naturalOrder());
    return files;
  }

  /**
   * Places blob {@code digest} of {@code store} at {@code destination} (replacing it), verified,
   * and makes it executable if asked: how a worker places an input and a restore an output.
   *
   * @return false if the store lacks the blob or it failed verification (nothing is placed)
   */
  public static boolean place(DiskBlobStore store, Digest digest, Path destination,
      boolean executable) throws IOException {
    if (!store.copyVerified(digest, destination)) {
      return false;
    }
    if (executable) {
      setExecutable(destination);
    }
    return true;
  }

  static void setExecutable(Path p) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
      perms.add(PosixFilePermission.OWNER_EXECUTE);
      perms.add(PosixFilePermission.GROUP_EXECUTE);
      perms.add(PosixFilePermission.OTHERS_EXECUTE);
      Files.setPosixFilePermissions(p, perms);
    } catch (UnsupportedOperationException | IOException e) {
      p.toFile().setExecutable(true, false);
    }
  }
}
