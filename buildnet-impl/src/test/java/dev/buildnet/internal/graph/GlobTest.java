package dev.buildnet.internal.graph;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class GlobTest {

  /** The answer of the regex and of the matcher, which must agree. */
  private static boolean matches(String glob, String path) {
    Pattern p = Glob.compile(glob);
    boolean regex = p.matcher(path).matches();
    org.junit.jupiter.api.Assertions.assertEquals(regex, Glob.matcher(glob).matches(path),
        () -> "matcher and regex disagree on " + glob + " vs " + path);
    return regex;
  }

  @Test
  void doubleStar_matchesZeroOrMoreDirectories() {
    assertTrue(matches("src/**/*.java", "src/A.java"));
    assertTrue(matches("src/**/*.java", "src/a/A.java"));
    assertTrue(matches("src/**/*.java", "src/a/b/c/A.java"));
    assertFalse(matches("src/**/*.java", "srcA.java"));
    assertFalse(matches("src/**/*.java", "other/src/A.java"));
    assertTrue(matches("**/*.java", "A.java"));
    assertTrue(matches("**/*.java", "x/y/A.java"));
    assertTrue(matches("a/**/b/**/c", "a/b/c"));
    assertTrue(matches("a/**/b/**/c", "a/x/b/y/z/c"));
  }

  @Test
  void trailingDoubleStar_matchesEveryFileBelow() {
    assertTrue(matches("src/**", "src/A.java"));
    assertTrue(matches("src/**", "src/a/b/A.java"));
    assertFalse(matches("src/**", "src"));
    assertFalse(matches("src/**", "srcx/A.java"));
  }

  @Test
  void star_andQuestionMark_stayWithinOneSegment() {
    assertTrue(matches("src/*.java", "src/A.java"));
    assertFalse(matches("src/*.java", "src/a/A.java"));
    assertTrue(matches("src/?.java", "src/A.java"));
    assertFalse(matches("src/?.java", "src/AB.java"));
    assertFalse(matches("?", "/"));
    assertTrue(matches("src/*", "src/.hidden"));
  }

  @Test
  void braces_areAlternatives() {
    assertTrue(matches("src/*.{ts,tsx}", "src/a.ts"));
    assertTrue(matches("src/*.{ts,tsx}", "src/a.tsx"));
    assertFalse(matches("src/*.{ts,tsx}", "src/a.js"));
  }

  @Test
  void brackets_andRegexCharacters_areLiteral() {
    assertTrue(matches("pages/[id]/*.tsx", "pages/[id]/index.tsx"));
    assertFalse(matches("pages/[id]/*.tsx", "pages/i/index.tsx"));
    assertTrue(matches("a+b(c)/$x^.txt*", "a+b(c)/$x^.txt"));
    assertFalse(matches("*.java", "Ajava"));
  }
  @Test
  void cached_sharesOneMatcherPerGlob_thatMatchesAsCompiled_andNeverRemembersABadOne() {
    for (String glob : java.util.List.of("src/**/*.{ts,tsx}", "src/**/*.ts")) {
      Glob.Matcher first = Glob.cached(glob);
      org.junit.jupiter.api.Assertions.assertSame(first, Glob.cached(glob));
      for (String path : java.util.List.of("src/a.ts", "src/x/y/b.tsx", "src/a.js", "lib/a.ts")) {
        org.junit.jupiter.api.Assertions.assertEquals(
            Glob.compile(glob).matcher(path).matches(), first.matches(path), path);
      }
    }
    for (int i = 0; i < 2; i++) {
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> Glob.cached("src/{a,b"));
    }
  }

  @Test
  void matcher_agreesWithTheRegex_onEdgeShapes() {
    // Empty segments, trailing slashes, runs of stars, the empty glob, a leading slash.
    String[] globs = {"**", "**/**", "a/**/**", "**/**/b", "a/**/**/**/b", "a/**", "a/**/b",
        "**/b", "*", "a/*", "a/*/b", "a**b/c",
        "a/***", "", "/a", "a//b", "?", "a?/**/?b", "a/**/", "*a*b*", "**/*.java"};
    String[] paths = {"", "/", "a", "a/", "a/b", "a//b", "/a", "a/b/", "ab", "axb/c", "a/x/y/b",
        "b", "x/b", "a/b/c/b", "acb", "aXbYb", "src/A.java", "a/b/c", "a//", "//"};
    for (String g : globs) {
      for (String p : paths) {
        matches(g, p);
      }
    }
  }

  @Test
  void matcher_treatsAPathWithSurrogates_asTheRegexDoes() {
    // The regex's '?' takes a whole code point: one emoji is one '?'.
    assertTrue(matches("src/?.txt", "src/\uD83D\uDE00.txt"));
    assertFalse(matches("src/??.txt", "src/\uD83D\uDE00.txt"));
    assertTrue(matches("src/**", "src/\uD83D\uDE00/x"));
  }
}
