package dev.buildnet.internal.graph;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Compiles BuildNet's glob syntax to a regular expression over '/'-separated relative paths, and
 * matches paths against it ({@link #matcher}) without one where it can.
 *
 * <p>Our own translation rather than {@code FileSystem.getPathMatcher("glob:")}, because that
 * one's {@code src/**}{@code /*.java} does not match {@code src/A.java}: users expect {@code **} to
 * mean "zero or more directories", as in git, npm and Gradle. Brackets are literal, not character
 * classes, so file names such as {@code [id].tsx} need no escaping.
 */
public final class Glob {
  private static final String REGEX_META = "\\.[]{}()<>*+-=!?^$|";

  /** Matchers by glob, across resolvers: a build compiled every target's globs anew. */
  private static final Map<String, Matcher> CACHE = new ConcurrentHashMap<>();
  /** Past this many distinct globs the cache starts over (a crude bound, as ActionCache's). */
  private static final int CACHE_MAX = 50_000;

  private Glob() {}

  /**
   * Whether a path matches a glob: exactly what {@link #compile}'s pattern says, held in far less
   * memory. A long-lived process (the daemon, an IDE) keeps one per input glob of every target:
   * a compiled {@link Pattern} of {@code packages/pkg-1/src/**} took about 1.5 KB (a Boyer-Moore
   * table, a 256-entry class per {@code [^/]}), a workspace of 5,000 packages 19 MB in two copies.
   * Immutable and safe to share between threads.
   */
  public abstract static sealed class Matcher permits Segments, Regex {
    /** Whether {@code path} (relative, '/'-separated) matches the whole glob. */
    public abstract boolean matches(String path);
  }

  /**
   * {@link #matcher}, remembered: a matcher is immutable and safe to share, and a long-lived host
   * resolves the same globs on every build.
   *
   * @throws IllegalArgumentException as {@link #compile}
   */
  public static Matcher cached(String pattern) {
    Matcher m = CACHE.get(pattern);
    if (m == null) {
      m = matcher(pattern); // a bad one throws and is not remembered
      if (CACHE.size() >= CACHE_MAX) {
        CACHE.clear();
      }
      CACHE.put(pattern, m);
    }
    return m;
  }

  /**
   * Checks {@code pattern} as {@link #compile} would, compiling it only if it has braces (the only
   * way a glob can be malformed): a graph checks every declared input, and most are plain paths.
   *
   * @throws IllegalArgumentException as {@link #compile}
   */
  public static void check(String pattern) {
    if (hasBraces(pattern)) {
      compile(pattern);
    }
  }

  private static boolean hasBraces(String pattern) {
    return pattern.indexOf('{') >= 0 || pattern.indexOf('}') >= 0;
  }

  /**
   * A matcher for {@code pattern}: without braces (most globs) one that walks the glob's segments;
   * with them, {@link #compile}'s pattern.
   *
   * @throws IllegalArgumentException as {@link #compile}
   */
  public static Matcher matcher(String pattern) {
    if (hasBraces(pattern)) {
      return new Regex(compile(pattern));
    }
    return new Segments(pattern);
  }

  /** A brace-free glob, matched segment by segment as {@link #compile}'s regex would. */
  static final class Segments extends Matcher {
    private final String glob;
    /** As {@link #compile} splits it (so trailing empty segments are dropped the same way). */
    private final String[] segments;
    /** Made only for a path with surrogates: see {@link #matches}. */
    private volatile Pattern exact;

    Segments(String glob) {
      this.glob = glob;
      String[] split = glob.split("/");
      java.util.List<String> kept = new java.util.ArrayList<>(split.length);
      for (String segment : split) {
        // "**/**" means what "**" means (zero or more directories twice are zero or more), and
        // each "**" multiplies the ways a path can be tried: keep one of a run.
        boolean repeat = segment.equals("**") && !kept.isEmpty()
            && kept.get(kept.size() - 1).equals("**");
        if (!repeat) {
          kept.add(segment.intern()); // "src", "**", "packages": the same in most globs
        }
      }
      this.segments = kept.toArray(new String[0]);
    }

    @Override
    public boolean matches(String path) {
      for (int i = 0; i < path.length(); i++) {
        if (Character.isSurrogate(path.charAt(i))) {
          // A regex's '?' and '*' step over whole code points; rather than mirror that (and
          // unpaired surrogates) here, such rare paths go to the regex itself.
          Pattern p = exact;
          if (p == null) {
            exact = p = compile(glob);
          }
          return p.matcher(path).matches();
        }
      }
      if (segments.length == 0) {
        return path.isEmpty(); // a glob of slashes only: compile's regex is empty
      }
      return match(path, 0, 0);
    }

    /** Whether segments from {@code s} on match {@code path} from {@code pos}, a segment's start. */
    private boolean match(String path, int s, int pos) {
      int length = path.length();
      if (s == segments.length) {
        return pos == length + 1; // every segment of the path used, the last one's end included
      }
      if (pos > length) {
        return false; // no path segment left, and every glob segment needs one (see below)
      }
      String segment = segments[s];
      boolean last = s == segments.length - 1;
      if (segment.equals("**")) {
        if (last) {
          // [^/]+(?:/[^/]+)*: one or more segments below, none empty.
          return pos < length && path.charAt(pos) != '/' && path.charAt(length - 1) != '/'
              && path.indexOf("//", pos) < 0;
        }
        // (?:[^/]+/)*: zero or more non-empty segments, then the rest of the glob.
        for (int p = pos; ; ) {
          if (match(path, s + 1, p)) {
            return true;
          }
          int end = segmentEnd(path, p);
          if (end == p || end >= length) {
            return false; // an empty segment, or none after it for the rest of the glob
          }
          p = end + 1;
        }
      }
      int end = segmentEnd(path, pos);
      return wildcard(segment, path, pos, end) && match(path, s + 1, end + 1);
    }

    private static int segmentEnd(String path, int pos) {
      int slash = path.indexOf('/', pos);
      return slash < 0 ? path.length() : slash;
    }

    /**
     * Whether {@code path[from, to)} (no '/' in it) matches {@code segment}: '*' any run of
     * characters, '?' one character, everything else itself.
     */
    private static boolean wildcard(String segment, String path, int from, int to) {
      int p = 0;
      int n = segment.length();
      int i = from;
      int star = -1; // the glob position after the last '*' run seen
      int resume = -1; // where the path is taken up again when that '*' takes one more character
      while (i < to) {
        if (p < n) {
          char c = segment.charAt(p);
          if (c == '*') {
            while (p < n && segment.charAt(p) == '*') {
              p++;
            }
            star = p;
            resume = i;
            continue;
          }
          if (c == '?' || c == path.charAt(i)) {
            p++;
            i++;
            continue;
          }
        }
        if (star < 0) {
          return false;
        }
        p = star;
        i = ++resume;
      }
      while (p < n && segment.charAt(p) == '*') {
        p++;
      }
      return p == n;
    }
  }

  /** A glob with braces, matched by its compiled regex. */
  static final class Regex extends Matcher {
    private final Pattern pattern;

    Regex(Pattern pattern) {
      this.pattern = pattern;
    }

    @Override
    public boolean matches(String path) {
      return pattern.matcher(path).matches();
    }
  }

  /**
   * A pattern matching the whole relative path of a file.
   *
   * @param pattern a normalized pattern (see {@link RelativePaths#normalize})
   * @throws IllegalArgumentException if braces are unbalanced; the message is a bare reason
   */
  public static Pattern compile(String pattern) {
    String[] segments = pattern.split("/");
    StringBuilder regex = new StringBuilder(pattern.length() * 2);
    for (int i = 0; i < segments.length; i++) {
      String segment = segments[i];
      boolean last = i == segments.length - 1;
      if (segment.equals("**")) {
        // Zero or more whole directories; as the last segment, every file below.
        regex.append(last ? "[^/]+(?:/[^/]+)*" : "(?:[^/]+/)*");
        continue;
      }
      appendSegment(regex, segment);
      if (!last) {
        regex.append('/');
      }
    }
    return Pattern.compile(regex.toString());
  }

  private static void appendSegment(StringBuilder regex, String segment) {
    int depth = 0;
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      switch (c) {
        case '*' -> {
          regex.append("[^/]*");
          while (i + 1 < segment.length() && segment.charAt(i + 1) == '*') {
            i++;
          }
        }
        case '?' -> regex.append("[^/]");
        case '{' -> {
          depth++;
          regex.append("(?:");
        }
        case '}' -> {
          if (depth == 0) {
            throw new IllegalArgumentException("has a '}' without a matching '{'");
          }
          depth--;
          regex.append(')');
        }
        case ',' -> regex.append(depth > 0 ? "|" : ",");
        default -> {
          if (REGEX_META.indexOf(c) >= 0) {
            regex.append('\\');
          }
          regex.append(c);
        }
      }
    }
    if (depth != 0) {
      throw new IllegalArgumentException(
          "has a '{' without a matching '}' (alternatives cannot contain '/')");
    }
  }
}
