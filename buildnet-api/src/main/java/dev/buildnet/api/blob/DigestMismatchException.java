package dev.buildnet.api.blob;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.Digest;

/**
 * Bytes offered to a {@link BlobStore} under a digest hash to another: nothing was stored.
 * Thrown by {@link BlobStore#put(Digest, java.io.InputStream)} (and by uploads that verify as
 * they go). (Was {@code dev.buildnet.cache.DigestMismatchException}.)
 *
 * @since 0.1
 */
public final class DigestMismatchException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final transient Digest expected;
  private final transient Digest actual;

  public DigestMismatchException(Digest expected, Digest actual, long size) {
    super("blob digest mismatch: expected " + expected + " but the " + size + " bytes hash to "
        + actual + "; nothing stored");
    this.expected = expected;
    this.actual = actual;
  }

  public Digest expected() {
    return expected;
  }

  public Digest actual() {
    return actual;
  }
}
