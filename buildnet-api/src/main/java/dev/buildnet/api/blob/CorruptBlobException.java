package dev.buildnet.api.blob;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.Digest;

/**
 * Thrown by a stream from {@link BlobStore#open} when the blob's bytes turn out not to match its
 * digest (or the blob turned out incomplete): what was read must be discarded. Unchecked like
 * every BuildNet exception, so it passes through code that copies streams (it surfaces from
 * {@link java.io.InputStream#read}); the store has dropped the blob where it could, so it is
 * absent from then on.
 *
 * @since 0.1
 */
public final class CorruptBlobException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final transient Digest digest;

  public CorruptBlobException(Digest digest, String message) {
    super(message);
    this.digest = digest;
  }

  /** The blob that was found corrupt. */
  public Digest digest() {
    return digest;
  }
}
