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

  private final String algorithm;
  private final String hex;
  /**
   * {@link #toString()}, made on first use: a key is written out several times per target (its
   * outcome, its explain record), and each concatenation was a fresh string.
   */
  private String text;

  private Digest(String algorithm, String hex) {
    this.algorithm = algorithm;
    this.hex = hex;
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
    if (!isAlgorithm(algorithm)) {
      throw new IllegalArgumentException(
          "digest algorithm must be lowercase letters, digits or '-' but was '" + algorithm + "'");
    }
    if (!isHex(hex)) {
      throw new IllegalArgumentException(
          "digest must be 2 to 256 lowercase hex digits, an even count, but was '" + hex + "'");
    }
    return new Digest(algorithm, hex);
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

  /** 2 to 256 lowercase hex digits, an even count. */
  private static boolean isHex(String s) {
    int n = s.length();
    if (n < 2 || n > 256 || (n & 1) != 0) {
      return false;
    }
    for (int i = 0; i < n; i++) {
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
    return of(text.substring(0, colon), text.substring(colon + 1));
  }

  public String algorithm() {
    return algorithm;
  }

  /** The digest bytes as lowercase hex, without the algorithm. */
  public String hex() {
    return hex;
  }

  /** A copy of the digest bytes. */
  public byte[] bytes() {
    return HexFormat.of().parseHex(hex);
  }

  /** {@code algorithm:hex}. */
  @Override
  public String toString() {
    String t = text; // a race only builds an equal string twice: String is immutable
    if (t == null) {
      t = algorithm + ':' + hex;
      text = t;
    }
    return t;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Digest d && d.algorithm.equals(algorithm) && d.hex.equals(hex);
  }

  @Override
  public int hashCode() {
    return 31 * algorithm.hashCode() + hex.hashCode();
  }

  @Override
  public int compareTo(Digest o) {
    int c = algorithm.compareTo(o.algorithm);
    return c != 0 ? c : hex.compareTo(o.hex);
  }
}
