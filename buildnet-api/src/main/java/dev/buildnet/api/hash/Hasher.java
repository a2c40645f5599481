package dev.buildnet.api.hash;

import java.nio.ByteBuffer;

/**
 * An incremental hash computation from {@link HashProvider#newHasher()}. Feed it bytes in any
 * number of calls, then call {@link #digest()} once. Not thread-safe: one computation, one thread.
 *
 * @since 0.1
 */
public interface Hasher {
  Hasher update(byte[] bytes, int offset, int length);

  default Hasher update(byte[] bytes) {
    return update(bytes, 0, bytes.length);
  }

  /** Consumes the remaining bytes of {@code buffer}. */
  Hasher update(ByteBuffer buffer);

  /**
   * The digest of everything fed so far. The hasher must not be used afterwards.
   *
   * @throws IllegalStateException if called twice
   */
  Digest digest();
}
