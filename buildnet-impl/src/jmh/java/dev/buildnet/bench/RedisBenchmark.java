package dev.buildnet.bench;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.state.Lock;
import dev.buildnet.graph.Target;
import dev.buildnet.redis.RedisBlobStore;
import dev.buildnet.redis.RedisStateBackend;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
  private static final int TARGETS = 10_000;

  private Process server;
  private RedisStateBackend redis;
  private final String[] keys = new String[KEYS];
  private final byte[] value = new byte[64];
  private int next;
  private Path root;
  private BuildNet b;
  private BuildNet warm;
  private int iteration;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    server = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind",
        "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory", "1gb",
        "--maxmemory-policy", "allkeys-lru").redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectErrorStream(true).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Socket probe = new Socket("127.0.0.1", port)) {
        break;
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("redis-server did not start", notYet);
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
    }
    redis = RedisStateBackend.builder("127.0.0.1", port).prefix("bench:").open();
    for (int i = 0; i < KEYS; i++) {
      keys[i] = String.format("action/%08x", i * 2654435761L & 0xffffffffL);
      redis.set(keys[i], value);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    redis.close();
    server.destroyForcibly();
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
