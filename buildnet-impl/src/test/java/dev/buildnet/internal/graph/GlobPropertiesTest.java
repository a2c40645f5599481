package dev.buildnet.internal.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link Glob#matcher} answers as {@link Glob#compile}'s regex does, for any brace-free glob and
 * any path: the matcher replaces the regex in every long-lived place, so a disagreement would be
 * an input silently added to or dropped from a cache key.
 */
class GlobPropertiesTest {

  /** Segments from a small alphabet, so that globs and paths often (almost) meet. */
  private static Arbitrary<String> text(List<String> pieces, int maxPieces) {
    return Arbitraries.of(pieces).list().ofMinSize(0).ofMaxSize(maxPieces)
        .map(l -> String.join("", l));
  }

  @Provide
  Arbitrary<String> globs() {
    Arbitrary<String> segment = Arbitraries.oneOf(
        Arbitraries.just("**"),
        text(List.of("a", "b", "*", "?", ".", "[", "+", "**", "x.y"), 4));
    return segment.list().ofMinSize(1).ofMaxSize(5).map(l -> String.join("/", l));
  }

  @Provide
  Arbitrary<String> paths() {
    return text(List.of("a", "b", "/", "ab", ".", "[", "+", "x.y", "c", "//"), 10);
  }

  @Property(tries = 3000)
  void matcher_answersAsTheRegex(@ForAll("globs") String glob, @ForAll("paths") String path) {
    assertEquals(Glob.compile(glob).matcher(path).matches(), Glob.matcher(glob).matches(path),
        () -> glob + " vs " + path);
  }

  @Property(tries = 1000)
  void matcher_answersAsTheRegex_onPathsTheGlobWasMadeFrom(@ForAll("globs") String glob,
      @ForAll("paths") String filler) {
    // A path shaped like the glob (each wildcard replaced by some text) mostly matches: this
    // covers the accepting side, which random paths rarely reach.
    String path = glob.replace("**", filler.isEmpty() ? "a" : filler)
        .replace("*", filler).replace("?", "c");
    assertEquals(Glob.compile(glob).matcher(path).matches(), Glob.matcher(glob).matches(path),
        () -> glob + " vs " + path);
  }
}
