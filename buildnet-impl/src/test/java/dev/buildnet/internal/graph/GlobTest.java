package dev.buildnet.internal.graph;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class GlobTest {

  private static boolean matches(String glob, String path) {
    Pattern p = Glob.compile(glob);
    return p.matcher(path).matches();
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
  void cached_sharesOnePatternPerGlob_thatMatchesAsCompiled_andNeverRemembersABadOne() {
    java.util.regex.Pattern first = Glob.cached("src/**/*.{ts,tsx}");
    org.junit.jupiter.api.Assertions.assertSame(first, Glob.cached("src/**/*.{ts,tsx}"));
    for (String path : java.util.List.of("src/a.ts", "src/x/y/b.tsx", "src/a.js", "lib/a.ts")) {
      org.junit.jupiter.api.Assertions.assertEquals(
          Glob.compile("src/**/*.{ts,tsx}").matcher(path).matches(),
          first.matcher(path).matches(), path);
    }
    for (int i = 0; i < 2; i++) {
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> Glob.cached("src/{a,b"));
    }
  }
}
