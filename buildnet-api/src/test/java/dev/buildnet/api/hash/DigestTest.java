package dev.buildnet.api.hash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DigestTest {

  @Property
  void parse_ofToString_returnsAnEqualDigest(
      @ForAll("algorithms") String algorithm, @ForAll @Size(min = 1, max = 128) byte[] bytes) {
    Digest digest = Digest.of(algorithm, bytes);

    Digest parsed = Digest.parse(digest.toString());

    assertEquals(digest, parsed);
    assertEquals(digest.hashCode(), parsed.hashCode());
    assertEquals(0, digest.compareTo(parsed));
    assertArrayEquals(bytes, parsed.bytes());
    assertEquals(algorithm, parsed.algorithm());
  }

  @Property
  void digestsOfDifferentAlgorithms_areNeverEqual(
      @ForAll("algorithms") String a,
      @ForAll("algorithms") String b,
      @ForAll @Size(min = 1, max = 64) byte[] bytes) {
    net.jqwik.api.Assume.that(!a.equals(b));

    Digest x = Digest.of(a, bytes);
    Digest y = Digest.of(b, bytes);

    assertNotEquals(x, y);
    assertNotEquals(0, x.compareTo(y));
    assertEquals(Integer.signum(x.compareTo(y)), -Integer.signum(y.compareTo(x)));
  }

  @Provide
  Arbitrary<String> algorithms() {
    Arbitrary<Character> first = Arbitraries.chars().range('a', 'z');
    Arbitrary<String> rest =
        Arbitraries.strings().withCharRange('a', 'z').withCharRange('0', '9').withChars('-')
            .ofMaxLength(31);
    return net.jqwik.api.Combinators.combine(first, rest).as((f, r) -> f + r);
  }

  @Test
  void toString_isAlgorithmColonLowercaseHex() {
    Digest digest = Digest.of("xxh64", new byte[] {(byte) 0xef, 0x46, (byte) 0xdb, 0x37});

    assertEquals("xxh64:ef46db37", digest.toString());
    assertEquals("ef46db37", digest.hex());
  }

  @Test
  void bytes_returnsACopy() {
    Digest digest = Digest.parse("sha256:00ff");

    digest.bytes()[0] = 42;

    assertArrayEquals(new byte[] {0, (byte) 0xff}, digest.bytes());
  }

  @Test
  void of_copiesTheBytes() {
    byte[] bytes = {1, 2};
    Digest digest = Digest.of("xxh64", bytes);

    bytes[0] = 9;

    assertEquals("0102", digest.hex());
  }

  @Test
  void sameAlgorithmAndBytes_areEqual_fromBytesOrHex() {
    assertEquals(Digest.of("sha256", new byte[] {(byte) 0xab}), Digest.of("sha256", "ab"));
  }

  @Test
  void compareTo_ordersByAlgorithmThenHex() {
    assertTrue(Digest.parse("a:ff").compareTo(Digest.parse("b:00")) < 0);
    assertTrue(Digest.parse("a:00").compareTo(Digest.parse("a:01")) < 0);
    // An algorithm that is a prefix of another sorts first, whatever the digits: the texts
    // alone would say otherwise (':' sorts after '2').
    assertTrue(Digest.parse("sha:ff").compareTo(Digest.parse("sha256:00")) < 0);
    assertTrue(Digest.parse("sha256:00").compareTo(Digest.parse("sha:ff")) > 0);
  }

  @Test
  void parsedAndBuiltDigests_agreeOnEverything() {
    Digest built = Digest.of("xxh64", "7b03496045e8d09c");
    Digest parsed = Digest.parse("xxh64:7b03496045e8d09c");

    assertEquals(built, parsed);
    assertEquals(built.hashCode(), parsed.hashCode());
    assertEquals("7b03496045e8d09c", parsed.hex());
    assertEquals("xxh64", parsed.algorithm());
    assertEquals(built.toString(), parsed.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"ABCD", "abc", "", "zz", "ab cd", "0x12"})
  void of_rejectsHexThatIsNotAnEvenRunOfLowercaseDigits(String hex) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Digest.of("xxh64", hex));

    assertTrue(e.getMessage().contains("'" + hex + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("lowercase hex"), e.getMessage());
  }

  @Test
  void of_rejectsMoreThan128Bytes() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Digest.of("sha256", new byte[129]));

    assertTrue(e.getMessage().contains("2 to 256"), e.getMessage());
  }

  @Test
  void of_acceptsExactly128Bytes() {
    assertEquals(256, Digest.of("sha256", new byte[128]).hex().length());
  }

  @Test
  void of_rejectsEmptyBytes() {
    assertThrows(IllegalArgumentException.class, () -> Digest.of("xxh64", new byte[0]));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "SHA256", "1abc", "-abc", "sha_256", "sha 256", "a23456789012345678901234567890123"})
  void of_rejectsAlgorithmsThatAreNotShortLowercaseNames(String algorithm) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Digest.of(algorithm, "00"));

    assertTrue(e.getMessage().contains("'" + algorithm + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("algorithm"), e.getMessage());
  }

  @Test
  void of_accepts32CharacterAlgorithm() {
    String name = "a2345678901234567890123456789012";

    assertEquals(name, Digest.of(name, "00").algorithm());
  }

  @ParameterizedTest
  @ValueSource(strings = {"ef46db3751d8e999", ":ef46", "xxh64", ""})
  void parse_rejectsTextWithoutAnAlgorithmPrefix(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Digest.parse(text));

    assertTrue(e.getMessage().contains("'algorithm:hex'"), e.getMessage());
    assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"xxh64:", "xxh64:EF46", "xxh64:ef46:00", "XXH64:ef46"})
  void parse_rejectsABadAlgorithmOrHexPart(String text) {
    assertThrows(IllegalArgumentException.class, () -> Digest.parse(text));
  }

  @Test
  void nullArguments_areRejectedByName() {
    NullPointerException e =
        assertThrows(NullPointerException.class, () -> Digest.of(null, "00"));
    assertEquals("algorithm", e.getMessage());
    assertEquals("hex", assertThrows(NullPointerException.class, () -> Digest.of("a", (String) null)).getMessage());
    assertEquals("bytes", assertThrows(NullPointerException.class, () -> Digest.of("a", (byte[]) null)).getMessage());
    assertEquals("text", assertThrows(NullPointerException.class, () -> Digest.parse(null)).getMessage());
  }

  @Test
  void hexFormat_roundTripsThroughBytes() {
    String hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    assertEquals(hex, HexFormat.of().formatHex(Digest.of("sha256", hex).bytes()));
  }
}
