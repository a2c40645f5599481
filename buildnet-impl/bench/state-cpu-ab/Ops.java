import dev.buildnet.api.state.Lock;
import dev.buildnet.state.SqliteStateBackend;
import java.nio.file.*; import java.time.Duration; import java.util.*;
/**
 * StateCpuHarness's operations on a fresh backend, compiled against and loaded with each jar that
 * StateCpuAb compares (it uses only the public API, so any build of the backend works).
 */
public class Ops {
  public static Map<String, Runnable> make(Path dir) {
    SqliteStateBackend s = SqliteStateBackend.open(dir.resolve("state.db"));
    String[] keys = new String[10_000]; byte[] value = new byte[64];
    Map<String, byte[]> all = new LinkedHashMap<>();
    for (int i = 0; i < keys.length; i++) { keys[i] = String.format("action/%08x", i * 2654435761L & 0xffffffffL); all.put(keys[i], value); }
    s.setAll(all);
    Map<String, byte[]> batch = new LinkedHashMap<>(); for (int i = 0; i < 1000; i++) batch.put("batch/" + i, value);
    int[] next = {0};
    Map<String, Runnable> ops = new LinkedHashMap<>();
    ops.put("get", () -> { next[0] = (next[0] + 1) % keys.length; s.get(keys[next[0]]); });
    ops.put("set", () -> { next[0] = (next[0] + 1) % keys.length; s.set(keys[next[0]], value); });
    ops.put("setAll1000", () -> s.setAll(batch));
    ops.put("lock", () -> { Lock l = s.acquireLock("bench", Duration.ofMinutes(1), "bench").orElseThrow(); s.release(l); });
    return ops;
  }
}
