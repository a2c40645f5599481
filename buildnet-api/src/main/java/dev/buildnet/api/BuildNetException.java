package dev.buildnet.api;

/**
 * The root of every exception BuildNet throws for a failure it detected (as opposed to misuse of
 * the API, which gets {@link IllegalArgumentException} or {@link IllegalStateException}).
 *
 * <p>Catch this type to handle any BuildNet failure; catch a subclass to handle one kind. The
 * subclasses group failures by what a host does about them, and each says which case it is with
 * a small {@code reason()} enum: {@link NotStartedException} (nothing ran),
 * {@code dev.buildnet.graph.InvalidGraphException} (fix the workspace or the request), {@link
 * dev.buildnet.api.state.StateException} (the state store failed, or a lock was lost), {@link
 * dev.buildnet.api.blob.BlobException} (a blob was corrupt, mismatched, declined or not
 * transferred) and {@code dev.buildnet.FrameException} (a host's transport received bytes that
 * are not a valid protocol frame; its {@code reason()} is the protocol's error code). Messages carry the state a person needs to act, e.g. which key, which file, which
 * holder.
 *
 * @since 0.1
 */
public class BuildNetException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BuildNetException(String message) {
    super(message);
  }

  public BuildNetException(String message, Throwable cause) {
    super(message, cause);
  }
}
