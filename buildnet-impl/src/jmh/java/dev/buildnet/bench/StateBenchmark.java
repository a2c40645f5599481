package dev.buildnet.bench;

import dev.buildnet.api.state.Lock;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.state.SqliteStateBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Single-threaded latency of the state backends: SQLite (WAL, synchronous NORMAL, a file in the
 * temp directory) against the in-memory backend. The store holds 10,000 keys with 64-byte values;
 * operations cycle through them.
 *
 * <p>Run: {@code java -jar buildnet-impl/target/benchmarks.jar StateBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
public class StateBenchmark {
  private static final int KEYS = 10_000;
  private static final int BATCH = 1_000;

  private Path directory;
  private SqliteStateBackend sqlite;
  private InMemoryStateBackend memory;
  private final String[] keys = new String[KEYS];
  private final byte[] value = new byte[64];
  private Map<String, byte[]> batch;
  private final List<Map<String, byte[]>> spread = new ArrayList<>();
  private int spreadCall;
  private int next;

  @Setup
  public void setUp() throws IOException {
    directory = Files.createTempDirectory("buildnet-state-bench");
    sqlite = SqliteStateBackend.builder(directory.resolve("state.db"))
        .synchronous(SqliteStateBackend.Synchronous.NORMAL)
        .open();
    memory = InMemoryStateBackend.create();
    Map<String, byte[]> all = new LinkedHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      keys[i] = String.format("action/%08x", i * 2654435761L & 0xffffffffL);
      all.put(keys[i], value);
      memory.set(keys[i], value);
    }
    sqlite.setAll(all);
    batch = new LinkedHashMap<>();
    for (int i = 0; i < BATCH; i++) {
      batch.put("batch/" + i, value);
    }
    byte[] changed = new byte[64];
    changed[0] = 1;
    for (int b = 0; b < 20; b++) {
      Map<String, byte[]> entries = new LinkedHashMap<>();
      for (int i = b % 10; i < KEYS; i += 10) {
        entries.put(keys[i], b < 10 ? value : changed);
      }
      spread.add(entries);
    }
  }

  @TearDown
  public void tearDown() throws IOException {
    sqlite.close();
    memory.close();
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  private String nextKey() {
    next = (next + 1) % KEYS;
    return keys[next];
  }

  @Benchmark
  public Optional<byte[]> sqliteGet() {
    return sqlite.get(nextKey());
  }

  @Benchmark
  public void sqliteSet() {
    sqlite.set(nextKey(), value);
  }

  /** 1,000 keys in one transaction: the whole batch per operation, not per key. */
  @Benchmark
  public void sqliteSetAll1000() {
    sqlite.setAll(batch);
  }

  /**
   * 1,000 of the 10,000 keys, spread over the table, with a value that differs from the stored
   * one: every call really writes. The other operations store the bytes already there, which
   * SQLite notices and skips (no page changes, no WAL frames).
   */
  @Benchmark
  public void sqliteSetAll1000Spread() {
    sqlite.setAll(spread.get(spreadCall++ % spread.size()));
  }

  @Benchmark
  public Lock sqliteLockAcquireRelease() {
    Lock lock = sqlite.acquireLock("bench", Duration.ofMinutes(1), "bench").orElseThrow();
    sqlite.release(lock);
    return lock;
  }

  @Benchmark
  public Optional<byte[]> memoryGet() {
    return memory.get(nextKey());
  }

  @Benchmark
  public void memorySet() {
    memory.set(nextKey(), value);
  }
}
