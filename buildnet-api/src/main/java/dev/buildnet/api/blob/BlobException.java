package dev.buildnet.api.blob;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.Digest;
import java.util.Objects;

/**
 * A blob could not be read, stored or moved intact. {@link #reason()} says which way, and so what
 * a host does about it:
 *
 * <ul>
 *   <li>{@link Reason#CORRUPT}: a stream from {@link BlobStore#open} found that the blob's bytes do
 *       not match its digest (or the blob is incomplete); what was read must be discarded. The
 *       store has dropped the blob where it could, so it is absent from then on: treat it as a
 *       cache miss. It surfaces from {@link java.io.InputStream#read}, unchecked like every
 *       BuildNet exception, so it passes through code that copies streams.
 *   <li>{@link Reason#DIGEST_MISMATCH}: bytes offered under one digest hash to another (thrown by
 *       {@link BlobStore#put(Digest, java.io.InputStream)} and by uploads that verify as they go);
 *       nothing was stored. The source changed or is wrong: hash it again.
 *   <li>{@link Reason#REJECTED}: a store declined a blob where the caller could not be told by a
 *       return value ({@link BlobStore#put(java.io.InputStream)}, e.g. larger than it takes).
 *       Nothing is wrong with the blob; keep it elsewhere or do without.
 *   <li>{@link Reason#TRANSFER}: an upload or download through a master failed: refused (blob not
 *       found, digest mismatch, too large), corrupt on arrival, timed out, or the connection was
 *       lost. Nothing partial is left behind (a failed download leaves no file, a refused upload
 *       stores nothing): try again, or treat the blob as absent.
 * </ul>
 *
 * <p>The message names the blob and the store or master involved.
 *
 * @since 0.4
 */
public final class BlobException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  /** Which way a blob operation failed; see the class comment for what a host does about each. */
  public enum Reason {
    /** The stored bytes do not match their digest, or the blob is incomplete. */
    CORRUPT,
    /** Bytes offered under a digest hash to another; nothing stored. */
    DIGEST_MISMATCH,
    /** The store declined the blob (e.g. too large). */
    REJECTED,
    /** A transfer through a master failed (refused, corrupt on arrival, timed out, lost). */
    TRANSFER
  }

  private final Reason reason;
  private final transient Digest digest;
  private final transient Digest actual;

  /**
   * @param reason which way it failed
   * @param digest the blob concerned (for {@link Reason#DIGEST_MISMATCH} the expected digest), or
   *     null if not known
   * @param message one line naming the blob and the store
   */
  public BlobException(Reason reason, Digest digest, String message) {
    this(reason, digest, null, message, null);
  }

  /** As {@link #BlobException(Reason, Digest, String)}, with the failure that caused it. */
  public BlobException(Reason reason, Digest digest, String message, Throwable cause) {
    this(reason, digest, null, message, cause);
  }

  private BlobException(Reason reason, Digest digest, Digest actual, String message,
      Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.digest = digest;
    this.actual = actual;
  }

  /**
   * Bytes offered under {@code expected} hashed to {@code actual}: a {@link
   * Reason#DIGEST_MISMATCH} whose message says both and that nothing was stored.
   */
  public static BlobException digestMismatch(Digest expected, Digest actual, long size) {
    return new BlobException(Reason.DIGEST_MISMATCH, expected, actual,
        "blob digest mismatch: expected " + expected + " but the " + size + " bytes hash to "
            + actual + "; nothing stored", null);
  }

  /** Which way it failed. */
  public Reason reason() {
    return reason;
  }

  /**
   * The blob concerned: the corrupt one, or for {@link Reason#DIGEST_MISMATCH} the digest the
   * bytes were offered under; null if not known (e.g. a lost connection).
   */
  public Digest digest() {
    return digest;
  }

  /** For {@link Reason#DIGEST_MISMATCH}: what the bytes actually hash to; null otherwise. */
  public Digest actualDigest() {
    return actual;
  }
}
