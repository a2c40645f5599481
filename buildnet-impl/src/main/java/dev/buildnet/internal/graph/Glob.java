package dev.buildnet.internal.graph;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Compiles BuildNet's glob syntax to a regular expression over '/'-separated relative paths.
 *
 * <p>Our own translation rather than {@code FileSystem.getPathMatcher("glob:")}, because that
 * one's {@code src/**}{@code /*.java} does not match {@code src/A.java}: users expect {@code **} to
 * mean "zero or more directories", as in git, npm and Gradle. Brackets are literal, not character
 * classes, so file names such as {@code [id].tsx} need no escaping.
 */
public final class Glob {
  private static final String REGEX_META = "\\.[]{}()<>*+-=!?^$|";

  /** Patterns by glob, across resolvers: a build compiled every target's globs anew. */
  private static final Map<String, Pattern> CACHE = new ConcurrentHashMap<>();
  /** Past this many distinct globs the cache starts over (a crude bound, as ActionCache's). */
  private static final int CACHE_MAX = 50_000;

  private Glob() {}

  /**
   * {@link #compile}, remembered: a {@link Pattern} is immutable and safe to share, and a
   * long-lived host resolves the same globs on every build.
   */
  public static Pattern cached(String pattern) {
    Pattern p = CACHE.get(pattern);
    if (p == null) {
      p = compile(pattern); // a bad one throws and is not remembered
      if (CACHE.size() >= CACHE_MAX) {
        CACHE.clear();
      }
      CACHE.put(pattern, p);
    }
    return p;
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
