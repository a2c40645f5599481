package dev.buildnet.internal.state;

import dev.buildnet.state.SqliteStateBackend;
import dev.buildnet.state.SqliteStateBackendProcessTest;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Child process for {@link SqliteStateBackendProcessTest}: writes keys to the state file until it
 * is killed, and after each write has returned prints what it wrote ("set key value .", one line
 * per key, or "counter n ." after an increment; the final dot shows the line is complete). Stops
 * by itself after 60 s in case nobody kills it.
 *
 * <p>Each confirmation is also appended to a log file with one {@code write} before it is printed:
 * the kernel keeps what a killed process wrote to a file, while lines still in the stdout pipe
 * when the JVM reaps the process can be lost to the reader (the test then saw increments
 * committed with no confirmation and failed for a reason that was not the backend's).
 *
 * <p>Args: state file, confirmation log file.
 */
public final class KeyWriterMain {
  private KeyWriterMain() {}

  public static void main(String[] args) throws IOException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    try (SqliteStateBackend backend = SqliteStateBackend.open(Path.of(args[0]));
        FileOutputStream log = new FileOutputStream(args[1], true)) {
      Consumer<String> confirm = line -> {
        try {
          log.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        System.out.println(line);
      };
      for (int i = 0; System.nanoTime() < deadline; i++) {
        if (i % 10 == 9) {
          Map<String, byte[]> batch = new LinkedHashMap<>();
          for (int j = 0; j < 10; j++) {
            batch.put("batch-" + i + "-" + j, ("b" + i + "." + j).getBytes(StandardCharsets.UTF_8));
          }
          backend.setAll(batch);
          batch.forEach((k, v) ->
              confirm.accept("set " + k + " " + new String(v, StandardCharsets.UTF_8) + " ."));
        } else if (i % 10 == 4) {
          confirm.accept("counter " + backend.increment("counter", 1) + " .");
        } else {
          backend.setString("key-" + i, "value-" + i);
          confirm.accept("set key-" + i + " value-" + i + " .");
        }
        System.out.flush();
      }
    }
  }
}
