package dev.buildnet.bench;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.internal.hash.FileDigestCache;
import dev.buildnet.internal.hash.Hashing;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Hashing throughput in memory, and {@link FileDigestCache} on a 64 MiB file.
 *
 * <p>In-memory benchmarks report ops/s and, as the secondary result {@code ·bytes}, bytes/s
 * (divide by 1e9 for GB/s). {@code lz4*} benchmarks call each lz4-java implementation directly,
 * to show what {@link Hashing#xxh64()} would get from the others. File benchmarks report µs/op;
 * "cold" is a cache miss with the file in the OS page cache, "hit" a cache hit (one stat).
 *
 * <pre>
 * mvn -B -q -P bench -pl buildnet-impl -am package -DskipTests
 * java -jar buildnet-impl/target/benchmarks.jar HashBenchmark -f 1 -wi 3 -i 5 -w 1 -r 2
 * </pre>
 */
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
public class HashBenchmark {

  @State(Scope.Benchmark)
  public static class Buffers {
    @Param({"65536", "1048576"})
    int size;

    byte[] heap;
    ByteBuffer direct;
    final HashProvider xxh64 = Hashing.xxh64();
    final HashProvider sha256 = Hashing.sha256();
    final XXHash64 jni = XXHashFactory.nativeInstance().hash64();
    final XXHash64 unsafe = XXHashFactory.unsafeInstance().hash64();
    final XXHash64 safe = XXHashFactory.safeInstance().hash64();

    @Setup
    public void setUp() {
      heap = new byte[size];
      new SplittableRandom(42).nextBytes(heap);
      direct = ByteBuffer.allocateDirect(size).put(heap).flip();
      System.out.println("\nHashing.xxh64() is " + xxh64);
    }
  }

  /** Bytes hashed, reported per second next to ops/s. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Bytes {
    public long bytes;
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public Digest xxh64OneShot(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.xxh64.hash(b.heap);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public Digest xxh64Hasher64KiBUpdates(Buffers b, Bytes n) {
    n.bytes += b.size;
    var hasher = b.xxh64.newHasher();
    for (int offset = 0; offset < b.size; offset += 65536) {
      hasher.update(b.heap, offset, Math.min(65536, b.size - offset));
    }
    return hasher.digest();
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public Digest sha256OneShot(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.sha256.hash(b.heap);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public long lz4JniHeap(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.jni.hash(b.heap, 0, b.size, 0);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public long lz4JniDirect(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.jni.hash(b.direct, 0, b.size, 0);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public long lz4UnsafeHeap(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.unsafe.hash(b.heap, 0, b.size, 0);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public long lz4UnsafeDirect(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.unsafe.hash(b.direct, 0, b.size, 0);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public long lz4SafeHeap(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.safe.hash(b.heap, 0, b.size, 0);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public long lz4SafeDirect(Buffers b, Bytes n) {
    n.bytes += b.size;
    return b.safe.hash(b.direct, 0, b.size, 0);
  }

  /** A 64 MiB file of random bytes, and caches for each algorithm. */
  @State(Scope.Benchmark)
  public static class LargeFile {
    static final int SIZE = 64 << 20;

    Path dir;
    Path file;
    FileDigestCache xxh64;
    FileDigestCache sha256;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      dir = Files.createTempDirectory("buildnet-hash-bench");
      file = dir.resolve("large.bin");
      byte[] chunk = new byte[1 << 20];
      SplittableRandom random = new SplittableRandom(7);
      try (OutputStream out = Files.newOutputStream(file)) {
        for (int i = 0; i < SIZE / chunk.length; i++) {
          random.nextBytes(chunk);
          out.write(chunk);
        }
      }
      Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
      // The file was just written, so its ctime is now and the real clock would treat it as
      // racily clean for 2 s; the hit benchmark wants a steady state from the first call.
      Clock later = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));
      xxh64 = FileDigestCache.builder(Hashing.xxh64()).clock(later).build();
      sha256 = FileDigestCache.builder(Hashing.sha256()).clock(later).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Digest fileXxh64Cold(LargeFile f) throws IOException {
    f.xxh64.invalidate(f.file);
    return f.xxh64.digest(f.file);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Digest fileXxh64Hit(LargeFile f) throws IOException {
    return f.xxh64.digest(f.file);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Digest fileSha256Cold(LargeFile f) throws IOException {
    f.sha256.invalidate(f.file);
    return f.sha256.digest(f.file);
  }
}
