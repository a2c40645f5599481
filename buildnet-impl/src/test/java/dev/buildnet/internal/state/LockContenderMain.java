package dev.buildnet.internal.state;

import dev.buildnet.state.SqliteStateBackend;
import dev.buildnet.state.SqliteStateBackendProcessTest;

import dev.buildnet.api.state.Lock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * Child process for {@link SqliteStateBackendProcessTest}: takes the lock "shared" {@code rounds}
 * times in the state file, and inside each lease appends {@code enter} and {@code exit} lines with
 * its fencing token and {@code System.nanoTime()} (one clock for all processes on Linux) to an
 * append-only log, and bumps a counter in the store with a non-atomic read then write.
 *
 * <p>Args: state file, owner name, rounds, log file. Prints "ready", waits for a line on stdin so
 * that all contenders start together, prints "done". Exits 3 if it cannot get the lock in 60 s.
 */
public final class LockContenderMain {
  private LockContenderMain() {}

  public static void main(String[] args) throws Exception {
    Path stateFile = Path.of(args[0]);
    String owner = args[1];
    int rounds = Integer.parseInt(args[2]);
    Path log = Path.of(args[3]);
    try (SqliteStateBackend backend = SqliteStateBackend.open(stateFile);
        FileChannel out = FileChannel.open(log, StandardOpenOption.CREATE,
            StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      System.out.println("ready");
      System.out.flush();
      new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      for (int i = 0; i < rounds; i++) {
        Lock lock;
        while ((lock = backend.acquireLock("shared", Duration.ofMinutes(5), owner).orElse(null))
            == null) {
          if (System.nanoTime() > deadline) {
            System.exit(3);
          }
          Thread.onSpinWait();
        }
        append(out, "enter " + owner + " " + lock.fencingToken() + " " + System.nanoTime());
        long counter = backend.getString("counter").map(Long::parseLong).orElse(0L);
        backend.setString("counter", Long.toString(counter + 1));
        append(out, "exit " + owner + " " + lock.fencingToken() + " " + System.nanoTime());
        backend.release(lock);
      }
      System.out.println("done");
    }
  }

  private static void append(FileChannel out, String line) throws Exception {
    // One write() per line; with O_APPEND the processes' lines never interleave.
    ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
    while (bytes.hasRemaining()) {
      out.write(bytes);
    }
  }
}
