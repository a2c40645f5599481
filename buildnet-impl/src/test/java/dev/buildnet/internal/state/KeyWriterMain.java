package dev.buildnet.internal.state;

import dev.buildnet.state.SqliteStateBackend;
import dev.buildnet.state.SqliteStateBackendProcessTest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Child process for {@link SqliteStateBackendProcessTest}: writes keys to the state file until it
 * is killed, and after each write has returned prints what it wrote ("set key value .", one line
 * per key, or "counter n ." after an increment; the final dot shows the line is complete). Stops
 * by itself after 60 s in case nobody kills it.
 *
 * <p>Args: state file.
 */
public final class KeyWriterMain {
  private KeyWriterMain() {}

  public static void main(String[] args) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    try (SqliteStateBackend backend = SqliteStateBackend.open(Path.of(args[0]))) {
      for (int i = 0; System.nanoTime() < deadline; i++) {
        if (i % 10 == 9) {
          Map<String, byte[]> batch = new LinkedHashMap<>();
          for (int j = 0; j < 10; j++) {
            batch.put("batch-" + i + "-" + j, ("b" + i + "." + j).getBytes(StandardCharsets.UTF_8));
          }
          backend.setAll(batch);
          batch.forEach((k, v) ->
              System.out.println("set " + k + " " + new String(v, StandardCharsets.UTF_8) + " ."));
        } else if (i % 10 == 4) {
          System.out.println("counter " + backend.increment("counter", 1) + " .");
        } else {
          backend.setString("key-" + i, "value-" + i);
          System.out.println("set key-" + i + " value-" + i + " .");
        }
        System.out.flush();
      }
    }
  }
}
