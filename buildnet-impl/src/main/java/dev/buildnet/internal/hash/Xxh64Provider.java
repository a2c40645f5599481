package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.Digest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** XXH64, seed 0, on lz4-java; digests are the 64-bit value big-endian. */
final class Xxh64Provider extends ChunkedHashProvider {
  static final String ALGORITHM = "xxh64";

  private static final Logger LOG = LoggerFactory.getLogger(Xxh64Provider.class);
  private static final long SEED = 0;

  private final XXHashFactory factory;
  private final XXHash64 oneShot;

  Xxh64Provider(XXHashFactory factory) {
    super(ALGORITHM);
    this.factory = factory;
    this.oneShot = factory.hash64();
  }

  /**
   * The fastest lz4-java implementation that works here. {@link XXHashFactory#fastestInstance()}
   * picks JNI only when the native library is (or can be) loaded by the system class loader: a JNI
   * library binds to one class loader per JVM, so a copy of lz4-java in a plug-in's class loader
   * must not take it from the host. That choice is kept. Each candidate must also reproduce known
   * digests before it is used, because a native library that loads can still be the wrong build
   * for the CPU; on failure the next one is tried, ending with the pure-Java safe implementation.
   */
  static Xxh64Provider fastestWorking() {
    return firstWorking(
        List.of(
            XXHashFactory::fastestInstance,
            XXHashFactory::fastestJavaInstance,
            XXHashFactory::safeInstance));
  }

  /** The first candidate that can be created and passes the self-test. */
  static Xxh64Provider firstWorking(List<Supplier<XXHashFactory>> candidates) {
    List<String> failures = new ArrayList<>();
    for (Supplier<XXHashFactory> candidate : candidates) {
      try {
        XXHashFactory factory = candidate.get();
        String problem = selfTest(factory);
        if (problem == null) {
          LOG.debug("xxh64 uses lz4-java {}", factory);
          return new Xxh64Provider(factory);
        }
        failures.add(factory + ": " + problem);
      } catch (LinkageError | RuntimeException | AssertionError e) {
        // lz4-java reports a native library that fails to load as an AssertionError.
        failures.add(e.toString());
      }
      LOG.debug("xxh64 skipped an lz4-java implementation: {}", failures.get(failures.size() - 1));
    }
    throw new IllegalStateException("no lz4-java XXH64 implementation works: " + failures);
  }

  /** Null if {@code factory} reproduces the reference digests, else what went wrong. */
  private static String selfTest(XXHashFactory factory) {
    // Short input takes the tail path only; 43 bytes also run the 32-byte stripe loop.
    byte[] abc = "abc".getBytes(StandardCharsets.US_ASCII);
    byte[] fox = "The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.US_ASCII);
    long[] expected = {0x44bc2cf5ad770999L, 0x0b242d361fda71bcL};
    byte[][] inputs = {abc, fox};
    for (int i = 0; i < inputs.length; i++) {
      long oneShot = factory.hash64().hash(inputs[i], 0, inputs[i].length, SEED);
      long streamed;
      try (StreamingXXHash64 stream = factory.newStreamingHash64(SEED)) {
        stream.update(inputs[i], 0, 1);
        stream.update(inputs[i], 1, inputs[i].length - 1);
        streamed = stream.getValue();
      }
      if (oneShot != expected[i] || streamed != expected[i]) {
        return String.format(
            "wrong digest of a %d-byte input: one-shot %016x, streaming %016x, expected %016x",
            inputs[i].length, oneShot, streamed, expected[i]);
      }
    }
    return null;
  }

  static Digest digestOf(long value) {
    return Digest.of(ALGORITHM, HexFormat.of().toHexDigits(value));
  }

  @Override
  Digest oneShot(byte[] bytes, int offset, int length) {
    return digestOf(oneShot.hash(bytes, offset, length, SEED));
  }

  @Override
  public AbstractHasher newHasher() {
    return new Xxh64Hasher();
  }

  /** Names the lz4-java implementation in use, e.g. {@code xxh64 (lz4-java XXHashFactory:JNI)}. */
  @Override
  public String toString() {
    return ALGORITHM + " (lz4-java " + factory + ")";
  }

  /**
   * Small updates are staged in a buffer and passed on in bulk: each call into the JNI stream
   * costs a native transition and a lock. Input that never outgrows the buffer is hashed in one
   * shot, so short digests (cache keys) never allocate native state. XXH64 gives the same value
   * however the input is split, so staging does not change the result.
   */
  private final class Xxh64Hasher extends AbstractHasher {
    private static final int STAGING = 8 * 1024;

    private byte[] staging;
    private int staged;
    private StreamingXXHash64 stream;

    @Override
    void doUpdate(byte[] bytes, int offset, int length) {
      if (length >= STAGING) {
        flush();
        stream().update(bytes, offset, length);
        return;
      }
      if (staged + length > STAGING) {
        flush();
      }
      System.arraycopy(bytes, offset, staging(), staged, length);
      staged += length;
    }

    @Override
    void doUpdate(ByteBuffer buffer) {
      if (buffer.hasArray()) {
        int length = buffer.remaining();
        doUpdate(buffer.array(), buffer.arrayOffset() + buffer.position(), length);
        buffer.position(buffer.limit());
        return;
      }
      // Direct or read-only: lz4-java's streaming API takes only arrays, so copy through staging.
      while (buffer.hasRemaining()) {
        if (staged == STAGING) {
          flush();
        }
        int n = Math.min(buffer.remaining(), STAGING - staged);
        buffer.get(staging(), staged, n);
        staged += n;
      }
    }

    @Override
    Digest doDigest() {
      if (stream == null) {
        return digestOf(oneShot.hash(staged == 0 ? new byte[0] : staging, 0, staged, SEED));
      }
      flush();
      return digestOf(stream.getValue());
    }

    @Override
    void release() {
      if (stream != null) {
        stream.close();
        stream = null;
      }
      staging = null;
    }

    private byte[] staging() {
      if (staging == null) {
        staging = new byte[STAGING];
      }
      return staging;
    }

    private StreamingXXHash64 stream() {
      if (stream == null) {
        stream = factory.newStreamingHash64(SEED);
      }
      return stream;
    }

    private void flush() {
      if (staged > 0) {
        stream().update(staging, 0, staged);
        staged = 0;
      }
    }
  }
}
