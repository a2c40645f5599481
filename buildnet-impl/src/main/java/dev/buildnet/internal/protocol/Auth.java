package dev.buildnet.internal.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The handshake's challenge–response proofs ({@code docs/PROTOCOL.md}, "Authentication"): both
 * sides prove they know the shared secret by an HMAC-SHA256 over both nonces, so the secret never
 * crosses the wire and neither proof can be replayed as the other.
 *
 * <p>Stateless and safe for concurrent use.
 *
 * @since 0.1
 */
public final class Auth {
  /** Shortest shared secret accepted. */
  public static final int MIN_SECRET_BYTES = 16;

  private static final byte[] CLIENT_LABEL = "buildnet-client-proof".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SERVER_LABEL = "buildnet-server-proof".getBytes(StandardCharsets.US_ASCII);

  private Auth() {}

  /** A fresh {@link Payloads#NONCE_BYTES}-byte nonce. */
  public static byte[] nonce(SecureRandom random) {
    byte[] n = new byte[Payloads.NONCE_BYTES];
    random.nextBytes(n);
    return n;
  }

  /**
   * The connecting peer's proof: HMAC-SHA256(secret, "buildnet-client-proof" 0x00 server_nonce
   * client_nonce role 0x00 peer_id).
   */
  public static byte[] clientProof(
      byte[] secret, byte[] serverNonce, byte[] clientNonce, String role, String peerId) {
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    m.writeBytes(CLIENT_LABEL);
    m.write(0);
    m.writeBytes(serverNonce);
    m.writeBytes(clientNonce);
    m.writeBytes(role.getBytes(StandardCharsets.UTF_8));
    m.write(0);
    m.writeBytes(peerId.getBytes(StandardCharsets.UTF_8));
    return hmac(secret, m.toByteArray());
  }

  /**
   * The listener's proof: HMAC-SHA256(secret, "buildnet-server-proof" 0x00 client_nonce
   * server_nonce listener_id).
   */
  public static byte[] serverProof(
      byte[] secret, byte[] clientNonce, byte[] serverNonce, String listenerId) {
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    m.writeBytes(SERVER_LABEL);
    m.write(0);
    m.writeBytes(clientNonce);
    m.writeBytes(serverNonce);
    m.writeBytes(listenerId.getBytes(StandardCharsets.UTF_8));
    return hmac(secret, m.toByteArray());
  }

  /** Constant-time comparison; false for null. */
  public static boolean matches(byte[] expected, byte[] actual) {
    return expected != null && actual != null && MessageDigest.isEqual(expected, actual);
  }

  /** Throws if {@code secret} is too short to be a secret. */
  public static void checkSecret(byte[] secret) {
    if (secret == null || secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException(
          "the shared secret must be at least " + MIN_SECRET_BYTES + " bytes but was "
              + (secret == null ? "missing" : secret.length + " bytes"));
    }
  }

  private static byte[] hmac(byte[] secret, byte[] message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return mac.doFinal(message);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
    }
  }
}
