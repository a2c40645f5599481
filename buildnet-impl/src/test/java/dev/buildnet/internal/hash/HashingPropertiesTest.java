package dev.buildnet.internal.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import net.jpountz.xxhash.XXHashFactory;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class HashingPropertiesTest {

  /** Sizes around XXH64's 32-byte stripes, the 8 KiB staging buffer and the 64 KiB read chunk. */
  @Provide
  Arbitrary<byte[]> inputs() {
    Arbitrary<Integer> sizes =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(4, Arbitraries.integers().between(0, 100)),
            net.jqwik.api.Tuple.of(3, Arbitraries.integers().between(8 * 1024 - 40, 8 * 1024 + 40)),
            net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, 70_000)),
            net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(64 * 1024 - 2, 200_000)));
    // Bytes from a seeded Random: jqwik's element-wise byte arrays are slow at 100 KiB.
    return net.jqwik.api.Combinators.combine(sizes, Arbitraries.longs())
        .as(
            (size, seed) -> {
              byte[] bytes = new byte[size];
              new Random(seed).nextBytes(bytes);
              return bytes;
            });
  }

  @Provide
  Arbitrary<HashProvider> providers() {
    return Arbitraries.of(Hashing.xxh64(), Hashing.sha256());
  }

  @Property(tries = 300)
  void chunkedUpdates_giveTheOneShotDigest(
      @ForAll("providers") HashProvider provider,
      @ForAll("inputs") byte[] input,
      @ForAll long splitSeed) {
    Hasher hasher = provider.newHasher();
    Random random = new Random(splitSeed);
    int offset = 0;
    while (offset < input.length) {
      int length = Math.min(input.length - offset, chunkLength(random));
      switch (random.nextInt(4)) {
        case 0 -> hasher.update(input, offset, length);
        case 1 -> hasher.update(ByteBuffer.wrap(input, offset, length));
        case 2 -> {
          ByteBuffer direct = ByteBuffer.allocateDirect(length).put(input, offset, length).flip();
          hasher.update(direct);
          assertEquals(0, direct.remaining());
        }
        default -> hasher.update(ByteBuffer.wrap(input, offset, length).asReadOnlyBuffer());
      }
      offset += length;
    }

    assertEquals(provider.hash(input), hasher.digest());
  }

  @Property(tries = 100)
  void streamsWithShortReads_giveTheOneShotDigest(
      @ForAll("providers") HashProvider provider,
      @ForAll("inputs") byte[] input,
      @ForAll long readSeed)
      throws IOException {
    Random random = new Random(readSeed);
    InputStream trickle =
        new ByteArrayInputStream(input) {
          // Short reads, which BAIS.readNBytes (called by nothing of ours) would not retry.
          @Override
          public synchronized int read(byte[] b, int off, int len) {
            return super.read(b, off, Math.min(len, 1 + random.nextInt(20_000)));
          }
        };

    assertEquals(provider.hash(input), provider.hash(trickle));
  }

  @Property(tries = 300)
  void everyLz4JavaImplementation_matchesTheReference(@ForAll("inputs") byte[] input) {
    String expected = HexFormat.of().toHexDigits(ReferenceXxh64.hash(input, 0));
    for (XXHashFactory factory : factories()) {
      Xxh64Provider provider = new Xxh64Provider(factory);
      assertEquals(expected, provider.hash(input).hex(), factory.toString());
      List<Integer> cuts = cuts(input.length, input.length);
      Hasher hasher = provider.newHasher();
      int from = 0;
      for (int cut : cuts) {
        hasher.update(input, from, cut - from);
        from = cut;
      }
      assertEquals(expected, hasher.digest().hex(), factory + " streaming");
    }
  }

  @Property(tries = 50)
  void theBigEndianValue_isTheDigest(@ForAll @IntRange(max = 200) int size, @ForAll long seed) {
    byte[] input = new byte[size];
    new Random(seed).nextBytes(input);

    Digest digest = Hashing.xxh64().hash(input);

    assertEquals(ReferenceXxh64.hash(input, 0), ByteBuffer.wrap(digest.bytes()).getLong());
  }

  private static XXHashFactory[] factories() {
    return new XXHashFactory[] {
      XXHashFactory.nativeInstance(), XXHashFactory.unsafeInstance(), XXHashFactory.safeInstance()
    };
  }

  /** Mostly short updates (what the staging buffer is for), sometimes long ones that bypass it. */
  private static int chunkLength(Random random) {
    return random.nextInt(10) == 0 ? 1 + random.nextInt(40_000) : random.nextInt(100);
  }

  private static List<Integer> cuts(int length, long seed) {
    Random random = new Random(seed);
    List<Integer> cuts = new ArrayList<>();
    int at = 0;
    while (at < length) {
      at = Math.min(length, at + chunkLength(random));
      cuts.add(at);
    }
    return cuts;
  }
}
