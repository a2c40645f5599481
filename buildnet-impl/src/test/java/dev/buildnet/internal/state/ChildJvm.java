package dev.buildnet.internal.state;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A JVM running a main class from this test class path, with its stdout read line by line on a
 * daemon thread and its stderr kept in a file for failure messages. Always {@link #close()} it (in
 * a finally or try-with-resources): that kills it if it still runs.
 */
public final class ChildJvm implements AutoCloseable {
  private static final String END = "\0end of stream";

  private final Process process;
  private final Path stderr;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private ChildJvm(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
    Thread reader = new Thread(this::pump, "child-jvm-stdout-" + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts a child on the other SQLite driver than this process's, to test them together. */
  public static ChildJvm start(Path workDirectory, Class<?> mainClass, String... args) throws IOException {
    return start(workDirectory, !SqliteDriver.current().isNative(), mainClass, args);
  }

  /**
   * Starts a child on BuildNet's native SQLite binding if {@code nativeSqlite} (where it is built),
   * otherwise on sqlite-jdbc. Processes on different drivers share a file safely: each process's
   * POSIX locks are its own.
   */
  public static ChildJvm start(Path workDirectory, boolean nativeSqlite, Class<?> mainClass,
      String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xshare:auto");
    command.add("-XX:TieredStopAtLevel=1"); // short-lived: start fast rather than peak
    // sqlite-jdbc unpacks its native library into this directory and deletes it at exit; a child
    // killed with SIGKILL cannot, so keep the copy in the test's own temporary directory.
    command.add("-Dorg.sqlite.tmpdir=" + workDirectory);
    command.add("-D" + SqliteDriver.SWITCH + "=" + nativeSqlite);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass.getName());
    command.addAll(List.of(args));
    Path stderr = Files.createTempFile(workDirectory, mainClass.getSimpleName(), ".stderr");
    Process process = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.to(stderr.toFile()))
        .start();
    return new ChildJvm(process, stderr);
  }

  private void pump() {
    try (BufferedReader reader = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = reader.readLine()) != null; ) {
        lines.add(line);
      }
    } catch (IOException closedWhenKilled) {
      // The stream ends either way; END below tells the reader.
    } finally {
      lines.add(END);
    }
  }

  /** The next stdout line, or null at end of stream; fails the test after {@code seconds}. */
  public String nextLine(long seconds) throws InterruptedException {
    String line = lines.poll(seconds, TimeUnit.SECONDS);
    if (line == null) {
      throw new AssertionError("no output from child within " + seconds + " s; " + diagnostics());
    }
    return line.equals(END) ? null : line;
  }

  /** Sends a line to the child's stdin. */
  public void send(String line) throws IOException {
    Writer stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    stdin.write(line + "\n");
    stdin.flush();
  }

  /** Waits for the child to exit and returns its exit code; fails the test after {@code seconds}. */
  public int waitFor(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      throw new AssertionError("child still running after " + seconds + " s; " + diagnostics());
    }
    return process.exitValue();
  }

  /** SIGKILL on Unix: the child gets no chance to clean up. Waits up to 10 s for it to die. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public String diagnostics() {
    String err;
    try {
      err = Files.readString(stderr);
    } catch (IOException e) {
      err = "(stderr unreadable: " + e + ")";
    }
    return "child " + process.pid() + " stderr:\n" + err;
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }
}
