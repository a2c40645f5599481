package dev.buildnet.internal.cache;

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

/** Test-only SHA-256 on the JDK's MessageDigest, so these tests do not depend on the hash module. */
public final class Sha256TestHashProvider implements HashProvider {

  @Override
  public String algorithm() {
    return "sha256";
  }

  @Override
  public Hasher newHasher() {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return new Hasher() {
      private boolean done;

      @Override
      public Hasher update(byte[] bytes, int offset, int length) {
        check();
        md.update(bytes, offset, length);
        return this;
      }

      @Override
      public Hasher update(ByteBuffer buffer) {
        check();
        md.update(buffer);
        return this;
      }

      @Override
      public Digest digest() {
        check();
        done = true;
        return Digest.of("sha256", md.digest());
      }

      private void check() {
        if (done) {
          throw new IllegalStateException("digest() was already called");
        }
      }
    };
  }

  @Override
  public Digest hash(InputStream in) throws IOException {
    Hasher hasher = newHasher();
    byte[] buffer = new byte[8192];
    for (int n; (n = in.read(buffer)) > 0; ) {
      hasher.update(buffer, 0, n);
    }
    return hasher.digest();
  }

  @Override
  public Digest hash(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return hash(in);
    }
  }
}
