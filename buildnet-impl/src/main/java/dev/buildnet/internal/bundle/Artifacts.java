package dev.buildnet.internal.bundle;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.hash.HashProvider;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Turns files a build wrote into {@link Artifact}s: workspace-relative path, size, digest. */
public final class Artifacts {
  private Artifacts() {}

  /**
   * Every regular file at or under each of {@code roots}, sorted by path. A root that does not
   * exist contributes nothing.
   */
  static List<Artifact> collect(List<Path> roots, Path workspace, HashProvider hashes) {
    Path base = workspace.toAbsolutePath().normalize();
    Map<String, Artifact> artifacts = new TreeMap<>();
    for (Path root : roots) {
      if (!Files.exists(root)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(root)) {
        for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
          Path absolute = file.toAbsolutePath().normalize();
          String relative = base.relativize(absolute).toString().replace(File.separatorChar, '/');
          if (!artifacts.containsKey(relative)) {
            artifacts.put(relative, new Artifact(relative, Files.size(file), hashes.hash(file)));
          }
        }
      } catch (IOException e) {
        throw new BuildNetException("cannot read build output under " + root + ": " + e, e);
      }
    }
    return List.copyOf(artifacts.values());
  }

  /** Fails unless {@code path} is inside {@code workspace}: artifacts are named relative to it. */
  public static Path requireInside(Path workspace, Path path, String what) {
    Path base = workspace.toAbsolutePath().normalize();
    Path absolute = base.resolve(path).normalize();
    if (!absolute.startsWith(base)) {
      throw new IllegalArgumentException(what + " " + path + " is not inside the workspace " + base);
    }
    return absolute;
  }
}
