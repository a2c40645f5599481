package dev.buildnet.internal.watch;

import dev.buildnet.internal.graph.RelativePaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What a watcher over a workspace covers, for one {@link TargetIndex}: which directories it
 * registers, which it skips (the state directory, declared outputs) and which files' digests may
 * be trusted without a stat. Shared by watch mode ({@link WatchSession}) and the daemon's hot
 * file state ({@link HotFileState}), so both follow one rule.
 */
final class WatchScope {
  private WatchScope() {}

  /**
   * Registers the nearest existing directory of every input's literal base. A missing base's
   * nearest directory is watched alone: the base appearing below it is an ENTRY_CREATE there, and
   * the watcher then watches the new directory's whole tree.
   */
  static void watchRoots(Path root, TargetIndex index, DirectoryWatcher watcher) throws IOException {
    Set<Path> dirs = new LinkedHashSet<>();
    for (String base : index.bases()) {
      Path p = resolve(root, base);
      while (!p.equals(root) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        p = p.getParent();
      }
      dirs.add(p);
    }
    for (Path d : dirs) {
      if (skipDirectory(root, index, d)) {
        continue;
      }
      if (index.bases().stream().anyMatch(b -> resolve(root, b).equals(d))) {
        watcher.watchTree(d, false);
      } else {
        watcher.watchDirectory(d);
      }
    }
  }

  /** A directory below the root that is (or is inside) the state directory or a declared output. */
  static boolean skipDirectory(Path root, TargetIndex index, Path dir) {
    if (!dir.startsWith(root) || dir.equals(root)) {
      return false;
    }
    String rel = relative(root, dir);
    return RelativePaths.overlapsStateDir(rel) || index.insideOutput(rel);
  }

  /** Whether the digest of {@code file} may be trusted without a stat: its directory is watched. */
  static boolean trusted(Path root, TargetIndex index, DirectoryWatcher watcher, Path file) {
    Path parent = file.getParent();
    if (parent == null || !file.startsWith(root) || !watcher.watches(parent)) {
      return false;
    }
    String rel = relative(root, file);
    return !RelativePaths.overlapsStateDir(rel) && !index.insideOutput(rel);
  }

  /**
   * {@code abs} relative to the root with '/' separators; "." for the root itself. Called for every
   * input file of every null build ({@link #trusted}): a path below the root, both absolute and
   * normalized, is cut out of its string (which the path caches) instead of {@link
   * Path#relativize}, which builds a new path of its own first.
   */
  static String relative(Path root, Path abs) {
    if (abs.equals(root)) {
      return ".";
    }
    if (java.io.File.separatorChar == '/') {
      String r = root.toString();
      String a = abs.toString();
      int cut = r.endsWith("/") ? r.length() : r.length() + 1; // the root "/" ends with one
      if (a.length() > cut && a.startsWith(r) && a.charAt(cut - 1) == '/') {
        return a.substring(cut);
      }
    }
    String rel = root.relativize(abs).toString();
    return java.io.File.separatorChar == '/' ? rel : rel.replace(java.io.File.separatorChar, '/');
  }

  private static Path resolve(Path root, String base) {
    return base.equals(".") ? root : root.resolve(base);
  }
}
