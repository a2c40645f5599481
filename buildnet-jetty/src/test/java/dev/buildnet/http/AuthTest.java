package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The token comparison: exactly the token's bytes, nothing shorter, longer or repeated. */
class AuthTest {
  private static final String TOKEN = "0123456789abcdef0123";
  private static final byte[] BYTES = TOKEN.getBytes(StandardCharsets.UTF_8);

  private static boolean matches(String presented) {
    return Auth.matches(presented, 0, presented.length(), BYTES);
  }

  @Test
  void theTokenItself_matches() {
    assertTrue(matches(TOKEN));
    assertTrue(Auth.matches("Bearer " + TOKEN + " ", 7, 7 + TOKEN.length(), BYTES));
  }

  @Test
  void oneCharDifferentAnywhere_doesNotMatch() {
    for (int i = 0; i < TOKEN.length(); i++) {
      char[] c = TOKEN.toCharArray();
      c[i] = c[i] == 'x' ? 'y' : 'x';
      assertFalse(matches(new String(c)), "differs at " + i);
    }
  }

  @Test
  void aPrefix_anExtension_orTheTokenRepeated_doesNotMatch() {
    assertFalse(matches(""));
    assertFalse(matches(TOKEN.substring(0, TOKEN.length() - 1)));
    assertFalse(matches(TOKEN + "0"));
    // Longer text is compared cycling through the token: a repetition must still fail on length.
    assertFalse(matches(TOKEN + TOKEN));
  }

  @Test
  void aNonAsciiToken_isComparedAsUtf8() {
    String token = "jeton-secret-été-0123";
    byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
    assertTrue(Auth.matches(token, 0, token.length(), utf8));
    assertFalse(Auth.matches("jeton-secret-ete-0123", 0, 21, utf8));
    assertFalse(Auth.matches(token + "é", 0, token.length() + 1, utf8));
  }
}
