package dev.buildnet.internal.transport;

import java.nio.charset.StandardCharsets;

/**
 * The text of a message id: a connection's counter in base 36, spelled exactly as {@link
 * Long#toString(long, int)} spells it. That one, for a radix other than 10, fills a 65-byte array
 * and copies the digits out of it; every frame a connection sends has an id, and an attempt costs
 * three frames, so this one sizes its array to the digits instead.
 */
final class MessageIds {
  private static final byte[] DIGITS =
      "0123456789abcdefghijklmnopqrstuvwxyz".getBytes(StandardCharsets.US_ASCII);

  private MessageIds() {}

  /** {@code Long.toString(n, 36)}. */
  static String base36(long n) {
    if (n < 0) {
      return Long.toString(n, 36); // never a counter's value; spelled as the JDK spells it
    }
    int digits = 1;
    for (long m = n / 36; m != 0; m /= 36) {
      digits++;
    }
    byte[] b = new byte[digits];
    for (int i = digits - 1; i >= 0; i--) {
      b[i] = DIGITS[(int) (n % 36)];
      n /= 36;
    }
    return new String(b, StandardCharsets.ISO_8859_1);
  }
}
