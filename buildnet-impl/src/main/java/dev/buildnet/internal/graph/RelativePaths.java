package dev.buildnet.internal.graph;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Pattern;

/**
 * Lexical rules for workspace-relative paths and patterns. Everything a target declares goes
 * through here, so a path that could reach outside the workspace never gets as far as the disk.
 */
public final class RelativePaths {
  /** BuildNet's own state directory at the workspace root; never an input, never an output. */
  public static final String STATE_DIR = ".buildnet";

  private static final Pattern WINDOWS_DRIVE = Pattern.compile("^[A-Za-z]:.*");

  private RelativePaths() {}

  /** True if {@code path} uses glob syntax: {@code *}, {@code ?} or {@code {a,b}}. */
  public static boolean isGlob(String path) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '*' || c == '?' || c == '{' || c == '}') {
        return true;
      }
    }
    return false;
  }

  /**
   * The normalized form of {@code path}: '/'-separated, no {@code .} or empty segments, no
   * {@code ..} (resolved lexically), no trailing '/', and {@code "."} for the workspace root.
   *
   * @param what how to name the path in an error, e.g. {@code "target 'app': input '../x'"}
   * @throws IllegalArgumentException if the path is empty, absolute, uses '\', escapes the
   *     workspace, or is a glob when {@code allowGlob} is false
   */
  public static String normalize(String what, String path, boolean allowGlob) {
    checkSyntax(what, path, allowGlob);
    Deque<String> segments = new ArrayDeque<>();
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".")) {
        continue;
      }
      if (segment.equals("..")) {
        if (segments.isEmpty()) {
          throw new IllegalArgumentException(
              what + " escapes the workspace: '..' would go above the workspace root");
        }
        if (isGlob(segments.peekLast())) {
          // "*/.." means different directories for different matches; there is no lexical answer.
          throw new IllegalArgumentException(what + " has '..' after a glob segment");
        }
        segments.removeLast();
      } else {
        segments.addLast(segment);
      }
    }
    return segments.isEmpty() ? "." : String.join("/", segments);
  }

  /**
   * Checks what can be checked of a relative path on its own: not null or empty, no NUL, no
   * '\', not absolute, and no glob syntax unless {@code allowGlob}.
   */
  public static void checkSyntax(String what, String path, boolean allowGlob) {
    if (path == null) {
      throw new IllegalArgumentException(what + " is null");
    }
    if (path.isBlank()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    if (path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(what + " contains a NUL character");
    }
    if (path.indexOf('\\') >= 0) {
      throw new IllegalArgumentException(what + " must use '/' as the separator, not '\\'");
    }
    if (path.startsWith("/") || WINDOWS_DRIVE.matcher(path).matches()) {
      throw new IllegalArgumentException(
          what + " must be relative to the workspace root, not absolute");
    }
    if (!allowGlob && isGlob(path)) {
      throw new IllegalArgumentException(
          what + " must be a plain path, not a glob pattern ('*', '?', '{' and '}' are not allowed)");
    }
  }

  /** True if {@code ancestor} is {@code path} or a directory that contains it (both normalized). */
  public static boolean contains(String ancestor, String path) {
    if (ancestor.equals(".")) {
      return true;
    }
    return path.equals(ancestor)
        || (path.length() > ancestor.length()
            && path.startsWith(ancestor)
            && path.charAt(ancestor.length()) == '/');
  }

  /** True if the normalized {@code path} and BuildNet's state directory overlap. */
  public static boolean overlapsStateDir(String path) {
    return contains(path, STATE_DIR) || contains(STATE_DIR, path);
  }

  /** The leading segments of a normalized pattern that contain no glob syntax; "." if none. */
  public static String literalBase(String pattern) {
    if (!isGlob(pattern)) {
      return pattern;
    }
    String[] segments = pattern.split("/");
    StringBuilder base = new StringBuilder();
    for (String segment : segments) {
      if (isGlob(segment)) {
        break;
      }
      if (base.length() > 0) {
        base.append('/');
      }
      base.append(segment);
    }
    return base.length() == 0 ? "." : base.toString();
  }

  /** "dir/file" joined, where "." is the root. */
  public static String join(String dir, String child) {
    return dir.equals(".") ? child : dir + "/" + child;
  }
}
