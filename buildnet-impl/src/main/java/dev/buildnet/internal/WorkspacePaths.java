package dev.buildnet.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one rule for symbolic links in workspace paths, shared by inputs ({@code InputResolver}) and
 * outputs ({@code Outputs}): a path counts as inside the workspace only if its real path, every
 * link on the way resolved, is inside the workspace's real path. Checking the text alone is not
 * enough: {@code out/x} with {@code out -> ../outside} is {@code outside/x}.
 */
public final class WorkspacePaths {
  private WorkspacePaths() {}

  /** The real path of {@code path} if it exists and lies inside {@code realRoot}, else null. */
  public static Path realPathInside(Path path, Path realRoot) {
    try {
      Path real = path.toRealPath();
      return real.startsWith(realRoot) ? real : null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Why {@code rel} (already checked as text to stay in the workspace) would lead outside it
   * through a symbolic link, or null if it does not: every existing component, the last one
   * included, that is a link must resolve to an existing path inside {@code realRoot}. Parts that
   * do not exist yet cannot be links; whoever creates them creates real directories.
   *
   * @param root the workspace as written (absolute, normalized)
   * @param realRoot its real path
   * @return a message naming the link, its target and the workspace; null if the path is safe
   */
  public static String linkEscape(Path root, Path realRoot, String rel) throws IOException {
    Path p = root;
    String shown = "";
    for (String name : rel.split("/")) {
      p = p.resolve(name);
      shown = shown.isEmpty() ? name : shown + "/" + name;
      BasicFileAttributes attrs;
      try {
        attrs = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        return null; // neither it nor anything below it exists
      }
      if (attrs.isSymbolicLink() && realPathInside(p, realRoot) == null) {
        String target;
        try {
          target = Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
          target = "?";
        }
        return "'" + shown + "' is a symbolic link to '" + target + "', which "
            + (Files.exists(p) ? "leads outside the workspace " + realRoot
                : "leads nowhere (a link is followed only to a path inside the workspace "
                    + realRoot + ")");
      }
    }
    return null;
  }
}
