package dev.buildnet.api.blob;

import dev.buildnet.api.BuildNetException;

/**
 * A store declined a blob it was asked to keep (e.g. larger than it takes), where the caller had
 * no way to be told by a return value ({@link BlobStore#put(java.io.InputStream)}).
 *
 * @since 0.1
 */
public final class BlobRejectedException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  public BlobRejectedException(String message) {
    super(message);
  }
}
