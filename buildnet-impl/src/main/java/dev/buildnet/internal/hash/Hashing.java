package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.HashProvider;

/**
 * The built-in {@link HashProvider}s. Both are stateless singletons, safe for concurrent use;
 * hashing a stream or file blocks on I/O and holds at most a 64 KiB buffer, never the whole input.
 *
 * <p>XXH64 runs on lz4-java's JNI implementation when the native library loads through the system
 * class loader and reproduces known digests, and otherwise, silently, on its pure-Java one (about
 * half the speed). {@code toString()} of the provider names the implementation in use.
 *
 * @since 0.1
 */
public final class Hashing {
  private static final HashProvider SHA256 = new Sha256Provider();

  private Hashing() {}

  /** XXH64, seed 0: 8-byte big-endian digests written {@code xxh64:<16 hex>}. Not cryptographic. */
  public static HashProvider xxh64() {
    return Xxh64Holder.INSTANCE;
  }

  /** SHA-256 from the JDK: digests written {@code sha256:<64 hex>}. */
  public static HashProvider sha256() {
    return SHA256;
  }

  /** Chooses (and possibly loads a native library for) XXH64 only when first asked for. */
  private static final class Xxh64Holder {
    static final HashProvider INSTANCE = Xxh64Provider.fastestWorking();
  }
}
