package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.Digest;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 from the JDK's {@link MessageDigest}. */
final class Sha256Provider extends ChunkedHashProvider {
  static final String ALGORITHM = "sha256";

  Sha256Provider() {
    super(ALGORITHM);
    newMessageDigest(); // fail at construction, not on first use
  }

  private static MessageDigest newMessageDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this Java runtime has no SHA-256, which every one must", e);
    }
  }

  @Override
  Digest oneShot(byte[] bytes, int offset, int length) {
    MessageDigest md = newMessageDigest();
    md.update(bytes, offset, length);
    return Digest.of(ALGORITHM, md.digest());
  }

  @Override
  public AbstractHasher newHasher() {
    return new Sha256Hasher();
  }

  @Override
  public String toString() {
    return ALGORITHM + " (JDK MessageDigest)";
  }

  private static final class Sha256Hasher extends AbstractHasher {
    private final MessageDigest md = newMessageDigest();

    @Override
    void doUpdate(byte[] bytes, int offset, int length) {
      md.update(bytes, offset, length);
    }

    @Override
    void doUpdate(ByteBuffer buffer) {
      md.update(buffer);
    }

    @Override
    Digest doDigest() {
      return Digest.of(ALGORITHM, md.digest());
    }
  }
}
