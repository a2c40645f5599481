package dev.buildnet.client;

import dev.buildnet.api.BuildNetException;

/**
 * A blob upload or download through the master failed: refused (e.g. digest mismatch, blob not
 * found, too large), corrupt on arrival, or the connection was lost. Nothing partial is left
 * behind: a failed download leaves no file, a refused upload stores nothing.
 *
 * @since 0.1
 */
public class BlobTransferException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  public BlobTransferException(String message) {
    super(message);
  }

  public BlobTransferException(String message, Throwable cause) {
    super(message, cause);
  }
}
