package dev.buildnet.internal.bundle;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A plain SHA-256 {@link HashProvider} for tests, independent of the real implementations. */
public final class Sha256Hashes implements HashProvider {

  @Override
  public String algorithm() {
    return "sha256";
  }

  @Override
  public Hasher newHasher() {
    MessageDigest md = newDigest();
    return new Hasher() {
      @Override
      public Hasher update(byte[] bytes, int offset, int length) {
        md.update(bytes, offset, length);
        return this;
      }

      @Override
      public Hasher update(ByteBuffer buffer) {
        md.update(buffer);
        return this;
      }

      @Override
      public Digest digest() {
        return Digest.of("sha256", md.digest());
      }
    };
  }

  @Override
  public Digest hash(InputStream in) throws IOException {
    Hasher h = newHasher();
    byte[] buffer = new byte[8192];
    int n;
    while ((n = in.read(buffer)) >= 0) {
      h.update(buffer, 0, n);
    }
    return h.digest();
  }

  @Override
  public Digest hash(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return hash(in);
    }
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
