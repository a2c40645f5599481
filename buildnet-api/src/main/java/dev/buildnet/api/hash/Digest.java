package dev.buildnet.api.hash;

import java.util.HexFormat;
import java.util.Objects;

/**
 * A content digest that names its algorithm, written {@code algorithm:hex} (e.g.
 * {@code xxh64:9d3f0a11c2b87e45}, {@code sha256:e3b0c4…}). Two digests are equal only if both the
 * algorithm and the bytes are equal, so digests of different algorithms are never confused.
 *
 * <p>Immutable and safe to share between threads.
 *
 * @since 0.1
 */
public final class Digest implements Comparable<Digest> {

  /** The algorithm's name; the one shared instance for the algorithms BuildNet ships. */
  private final String algorithm;
  /**
   * {@code algorithm:hex}, the only copy of the hex digits: a long-lived process keeps a digest
   * per file and per output (a 5,000-package workspace about 115,000), and a separate hex string
   * beside a cached {@link #toString()} cost about 56 bytes more each. {@link #hex()} is rarely
   * asked for (a blob's file name), {@link #toString()} on every key written.
   */
  private final String text;

  private Digest(String algorithm, String text) {
    this.algorithm = algorithm;
    this.text = text;
  }

  /** The shared instance of a common algorithm name, else {@code algorithm} itself. */
  private static String canonical(String algorithm) {
    return switch (algorithm) {
      case "xxh64" -> "xxh64";
      case "sha256" -> "sha256";
      default -> algorithm;
    };
  }

  /** A digest of {@code bytes} (copied) computed by {@code algorithm}. */
  public static Digest of(String algorithm, byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    return of(algorithm, HexFormat.of().formatHex(bytes));
  }

  /** A digest from its algorithm and lowercase hex text. */
  public static Digest of(String algorithm, String hex) {
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(hex, "hex");
    checkAlgorithm(algorithm);
    checkHex(hex, 0);
    String a = canonical(algorithm);
    return new Digest(a, a + ':' + hex);
  }

  private static void checkAlgorithm(String algorithm) {
    if (!isAlgorithm(algorithm)) {
      throw new IllegalArgumentException(
          "digest algorithm must be lowercase letters, digits or '-' but was '" + algorithm + "'");
    }
  }

  private static void checkHex(String s, int from) {
    if (!isHex(s, from)) {
      throw new IllegalArgumentException("digest must be 2 to 256 lowercase hex digits, an even"
          + " count, but was '" + s.substring(from) + "'");
    }
  }

  /** {@code [a-z][a-z0-9-]{0,31}}, checked by hand: digests are parsed on hot paths. */
  private static boolean isAlgorithm(String s) {
    int n = s.length();
    if (n < 1 || n > 32 || s.charAt(0) < 'a' || s.charAt(0) > 'z') {
      return false;
    }
    for (int i = 1; i < n; i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** From {@code from} on: 2 to 256 lowercase hex digits, an even count. */
  private static boolean isHex(String s, int from) {
    int n = s.length() - from;
    if (n < 2 || n > 256 || (n & 1) != 0) {
      return false;
    }
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Parses the {@code algorithm:hex} form produced by {@link #toString()}.
   *
   * @throws IllegalArgumentException if {@code text} is not of that form
   */
  public static Digest parse(String text) {
    Objects.requireNonNull(text, "text");
    int colon = text.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "digest must be written 'algorithm:hex' but was '" + text + "'");
    }
    String algorithm = text.substring(0, colon);
    checkAlgorithm(algorithm);
    checkHex(text, colon + 1);
    return new Digest(canonical(algorithm), text); // the text itself: no copy of the hex digits
  }

  public String algorithm() {
    return algorithm;
  }

  /** The digest bytes as lowercase hex, without the algorithm. */
  public String hex() {
    return text.substring(algorithm.length() + 1);
  }

  /** A copy of the digest bytes. */
  public byte[] bytes() {
    return HexFormat.of().parseHex(text, algorithm.length() + 1, text.length());
  }

  /** {@code algorithm:hex}. */
  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    // The algorithm has no ':', so equal texts mean equal algorithms and equal bytes.
    return o instanceof Digest d && d.text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public int compareTo(Digest o) {
    int c = algorithm.compareTo(o.algorithm);
    return c != 0 ? c : text.compareTo(o.text); // same algorithm: the texts differ in the hex
  }
}
