package dev.buildnet.internal.bundle;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds a Node tool the way a developer expects: the workspace's own {@code node_modules/.bin}
 * first (the version the project pinned), then the PATH.
 */
public final class ToolLocator {
  private ToolLocator() {}

  /** Where the tool is, or why not: the reason names every place that was looked at. */
  record Location(Optional<Path> binary, String searched) {}

  static Location find(String name, Path workspace, String searchPath) {
    Path local = workspace.resolve("node_modules").resolve(".bin").resolve(name);
    String where =
        local + " and on PATH (" + (searchPath == null ? "PATH is not set" : searchPath) + ")";
    if (isExecutableFile(local)) {
      return new Location(Optional.of(local.toAbsolutePath()), where);
    }
    if (searchPath != null) {
      for (String entry : searchPath.split(File.pathSeparator)) {
        if (entry.isEmpty()) {
          continue; // an empty entry means the JVM's cwd: not a place to trust for a build tool
        }
        try {
          Path candidate = Path.of(entry).resolve(name);
          if (isExecutableFile(candidate)) {
            return new Location(Optional.of(candidate.toAbsolutePath()), where);
          }
        } catch (InvalidPathException ignored) {
          // skip entries that are not paths
        }
      }
    }
    return new Location(Optional.empty(), where);
  }

  public static boolean isExecutableFile(Path file) {
    return Files.isRegularFile(file) && Files.isExecutable(file);
  }
}
