package dev.buildnet.bench;

import dev.buildnet.api.state.Lock;
import dev.buildnet.redis.RedisStateBackend;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Redis backend against a local {@code redis-server} (started on a free loopback port; needs
 * it installed), to set beside {@link StateBenchmark}'s SQLite figures: single-threaded get, set
 * and lock acquire+release latency over 10,000 keys of 64 bytes, one loopback round trip each.
 * Masters sharing a cache through Redis are measured by {@link RedisMasterBenchmark}.
 *
 * <p>Run: {@code java -jar buildnet-impl/target/benchmarks.jar RedisBenchmark}.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class RedisBenchmark {
  private static final int KEYS = 10_000;

  private RedisServerProcess server;
  private RedisStateBackend redis;
  private final String[] keys = new String[KEYS];
  private final byte[] value = new byte[64];
  private int next;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    server = RedisServerProcess.start();
    redis = RedisStateBackend.builder("127.0.0.1", server.port).prefix("bench:").open();
    for (int i = 0; i < KEYS; i++) {
      keys[i] = String.format("action/%08x", i * 2654435761L & 0xffffffffL);
      redis.set(keys[i], value);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    redis.close();
    server.close();
  }

  private String nextKey() {
    next = (next + 1) % KEYS;
    return keys[next];
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 2, time = 1)
  @Measurement(iterations = 3, time = 2)
  public Optional<byte[]> redisGet() {
    return redis.get(nextKey());
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 2, time = 1)
  @Measurement(iterations = 3, time = 2)
  public void redisSet() {
    redis.set(nextKey(), value);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 2, time = 1)
  @Measurement(iterations = 3, time = 2)
  public Lock redisLockAcquireRelease() {
    Lock lock = redis.acquireLock("bench", Duration.ofMinutes(1), "bench").orElseThrow();
    redis.release(lock);
    return lock;
  }

}
