package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.Hasher;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Enforces the {@link Hasher} life cycle (update*, then one digest) for our implementations, and
 * lets the providers release a computation that ends early (an I/O error mid-file) at once rather
 * than when the garbage collector gets to it: the JNI XXH64 state lives outside the heap.
 */
abstract class AbstractHasher implements Hasher, AutoCloseable {
  private static final int OPEN = 0;
  private static final int DIGESTED = 1;
  private static final int CLOSED = 2;

  private int state = OPEN;

  @Override
  public final Hasher update(byte[] bytes, int offset, int length) {
    Objects.requireNonNull(bytes, "bytes");
    Objects.checkFromIndexSize(offset, length, bytes.length);
    checkOpen();
    doUpdate(bytes, offset, length);
    return this;
  }

  @Override
  public final Hasher update(ByteBuffer buffer) {
    Objects.requireNonNull(buffer, "buffer");
    checkOpen();
    doUpdate(buffer);
    return this;
  }

  @Override
  public final Digest digest() {
    checkOpen();
    state = DIGESTED;
    try {
      return doDigest();
    } finally {
      release();
    }
  }

  /** Abandons the computation; idempotent, and a no-op after {@link #digest()}. */
  @Override
  public final void close() {
    if (state == OPEN) {
      state = CLOSED;
      release();
    }
  }

  abstract void doUpdate(byte[] bytes, int offset, int length);

  /** Consumes all remaining bytes of {@code buffer}. */
  abstract void doUpdate(ByteBuffer buffer);

  abstract Digest doDigest();

  /** Frees resources held outside the heap; called exactly once. */
  void release() {}

  private void checkOpen() {
    if (state == DIGESTED) {
      throw new IllegalStateException(
          "this hasher already produced its digest; start a new one with newHasher()");
    }
    if (state == CLOSED) {
      throw new IllegalStateException("this hasher was closed");
    }
  }
}
