package dev.buildnet.bench;

import dev.buildnet.api.state.Lock;
import dev.buildnet.state.SqliteStateBackend;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@link StateBenchmark}'s SQLite operations timed in CPU time instead of wall time: on a shared,
 * loaded machine a descheduled thread inflates wall times (adjacent runs of the same code differed
 * 2-3x), while CPU time per operation stays comparable with Bun's {@code process.cpuUsage()}
 * ({@code CPU=1 bun run buildnet-impl/bench/sqlite-state-vs-bun.ts}). By default counts the whole
 * process, as {@code process.cpuUsage()} does on Bun's side: the backend's maintenance thread (its
 * checkpoints are part of the writes' cost; Bun runs them inside the write) and also the garbage
 * collector's and compilers' threads, which Bun's figure includes for its own (counting only the
 * calling and maintenance threads, as before, left the collection of each call's garbage out of
 * Java's figure). {@code -Dcpu=threads} counts the calling and maintenance threads only, which is
 * steadier for comparing two Java builds. Uses only the public API, so it runs against an older
 * jar too:
 * {@code java -cp <dir with this class>:<benchmarks.jar> dev.buildnet.bench.StateCpuHarness}.
 *
 * <p>Prints one JSON line: the SQLite driver the backend ran on ({@code "driver"}: BuildNet's
 * native binding with its own SQLite, or sqlite-jdbc; {@code -Dbuildnet.sqlite.native=false}
 * forces sqlite-jdbc), then min / median / max CPU µs per operation over {@code -Drounds=5} rounds
 * of {@code -Dround=1} CPU seconds each, after three warm-up rounds; {@code -Donly=get,set} picks
 * operations (get, set, setAll1000, setAll1000Spread, lock).
 */
public final class StateCpuHarness {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final com.sun.management.OperatingSystemMXBean PROCESS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final boolean WHOLE_PROCESS =
      !"threads".equals(System.getProperty("cpu", "process"));
  private static final String MAINTENANCE_THREAD = "buildnet-state-sweeper";

  private final String[] keys = new String[10_000];
  private int next;

  private StateCpuHarness() {}

  public static void main(String[] args) throws IOException {
    new StateCpuHarness().run(Double.parseDouble(System.getProperty("round", "1")),
        Integer.getInteger("rounds", 5), System.getProperty("only", ""));
  }

  /**
   * The backend's SQLite driver, read reflectively so that this harness still runs against a jar
   * from before the driver seam, which always ran sqlite-jdbc.
   */
  private static String driver() {
    try {
      Object driver = Class.forName("dev.buildnet.internal.state.SqliteDriver")
          .getMethod("current").invoke(null);
      return driver.toString();
    } catch (ReflectiveOperationException beforeTheSeam) {
      return "sqlite-jdbc";
    }
  }

  private void run(double roundSeconds, int rounds, String only) throws IOException {
    Path directory = Files.createTempDirectory("buildnet-state-cpu");
    SqliteStateBackend sqlite = SqliteStateBackend.open(directory.resolve("state.db"));
    byte[] value = new byte[64];
    Map<String, byte[]> all = new LinkedHashMap<>();
    for (int i = 0; i < keys.length; i++) {
      keys[i] = String.format("action/%08x", i * 2654435761L & 0xffffffffL);
      all.put(keys[i], value);
    }
    sqlite.setAll(all);
    Map<String, byte[]> batch = new LinkedHashMap<>();
    for (int i = 0; i < 1_000; i++) {
      batch.put("batch/" + i, value);
    }
    Map<String, Runnable> operations = new LinkedHashMap<>();
    operations.put("get", () -> sqlite.get(nextKey()));
    operations.put("set", () -> sqlite.set(nextKey(), value));
    operations.put("setAll1000", () -> sqlite.setAll(batch));
    // Not in StateBenchmark: 1,000 of the 10,000 keys spread over the table, with a value that
    // differs from the stored one, so that every call really writes (the operations above write
    // the bytes already stored, which SQLite notices and skips: no page changes, no WAL frames).
    byte[][] values = {new byte[64], new byte[64]};
    values[1][0] = 1;
    Map<String, byte[]>[] spread = spreadBatches(values);
    int[] call = new int[1];
    operations.put("setAll1000Spread", () -> sqlite.setAll(spread[call[0]++ % spread.length]));
    operations.put("lock", () -> {
      Lock lock = sqlite.acquireLock("bench", Duration.ofMinutes(1), "bench").orElseThrow();
      sqlite.release(lock);
    });
    List<String> picked =
        List.of((only.isEmpty() ? "get,set,setAll1000,lock" : only).split(","));
    StringBuilder out = new StringBuilder("{\"runtime\":\"java " + Runtime.version()
        + "\",\"driver\":\"" + driver() + "\",\"unit\":\"cpu us/op\",\"cpu\":\""
        + (WHOLE_PROCESS ? "process" : "threads") + "\"");
    for (Map.Entry<String, Runnable> operation : operations.entrySet()) {
      if (!picked.contains(operation.getKey())) {
        continue;
      }
      for (int i = 0; i < 3; i++) {
        round(operation.getValue(), roundSeconds);
      }
      double[] micros = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        micros[i] = round(operation.getValue(), roundSeconds);
      }
      Arrays.sort(micros);
      out.append(String.format(",\"%s\":{\"min\":%.3f,\"median\":%.3f,\"max\":%.3f}",
          operation.getKey(), micros[0], micros[rounds / 2], micros[rounds - 1]));
    }
    System.out.println(out.append('}'));
    sqlite.close();
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  /** Ten batches of 1,000 keys each (every tenth key), alternating the two values. */
  @SuppressWarnings("unchecked")
  private Map<String, byte[]>[] spreadBatches(byte[][] values) {
    Map<String, byte[]>[] batches = new Map[20];
    for (int b = 0; b < batches.length; b++) {
      batches[b] = new LinkedHashMap<>();
      for (int i = b % 10; i < keys.length; i += 10) {
        batches[b].put(keys[i], values[b / 10]);
      }
    }
    return batches;
  }

  private String nextKey() {
    next = (next + 1) % keys.length;
    return keys[next];
  }

  /** Runs the operation for about {@code seconds} of this thread's CPU time; CPU µs per call. */
  private static double round(Runnable operation, double seconds) {
    long budget = (long) (seconds * 1e9);
    long start = cpuNanos();
    long own = THREADS.getCurrentThreadCpuTime();
    long calls = 0;
    while (THREADS.getCurrentThreadCpuTime() - own < budget) {
      for (int i = 0; i < 16; i++) {
        operation.run();
      }
      calls += 16;
    }
    return (cpuNanos() - start) / 1e3 / calls;
  }

  /** The process's CPU time, or this thread's plus the backend's maintenance thread's. */
  private static long cpuNanos() {
    if (WHOLE_PROCESS) {
      return PROCESS.getProcessCpuTime();
    }
    long nanos = THREADS.getCurrentThreadCpuTime();
    for (Thread thread : Thread.getAllStackTraces().keySet()) {
      if (thread.getName().equals(MAINTENANCE_THREAD)) {
        nanos += Math.max(0, THREADS.getThreadCpuTime(thread.getId()));
      }
    }
    return nanos;
  }
}
