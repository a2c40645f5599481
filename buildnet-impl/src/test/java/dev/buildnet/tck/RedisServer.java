package dev.buildnet.tck;

import dev.buildnet.redis.RedisStateBackend;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} on a free loopback port, for tests: no persistence, started and
 * waited for (PING) by {@link #start}, stopped by {@link #stop} and started again on the same
 * port by {@link #restart}. Fails the test, never skips it, when {@code redis-server} is missing.
 */
public final class RedisServer implements AutoCloseable {
  private static final long START_TIMEOUT_MILLIS = 10_000;

  private final Path executable;
  private final int port;
  private final List<String> extraArgs;
  private Process process;

  private RedisServer(Path executable, int port, List<String> extraArgs) {
    this.executable = executable;
    this.port = port;
    this.extraArgs = List.copyOf(extraArgs);
  }

  /** Starts a server with default settings plus {@code extraArgs} (e.g. "--maxmemory", "8mb"). */
  public static RedisServer start(String... extraArgs) throws IOException {
    Path exe = find();
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      RedisServer server = new RedisServer(exe, freePort(), List.of(extraArgs));
      try {
        server.launch();
        return server;
      } catch (IOException e) {
        last = e; // the free port was taken in between: try another
      }
    }
    throw last;
  }

  public int port() {
    return port;
  }

  public String host() {
    return "127.0.0.1";
  }

  /** A fresh backend on this server with a prefix of its own, so tests never see each other. */
  public RedisStateBackend.Builder backend(String prefix) {
    return RedisStateBackend.builder(host(), port).prefix(prefix)
        .connectTimeout(java.time.Duration.ofSeconds(1))
        .operationTimeout(java.time.Duration.ofSeconds(2));
  }

  /** Stops the server (SIGKILL: as abrupt as a crash) and waits for it to exit. */
  public void stop() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("redis-server on port " + port + " did not stop");
      }
      process = null;
    }
  }

  /** Starts the server again on the same port, empty. */
  public void restart() throws IOException, InterruptedException {
    stop();
    launch();
  }

  /** Runs one command with redis-cli-free raw RESP and returns the reply line. */
  public String command(String... args) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host(), port), 1000);
      s.setSoTimeout(2000);
      StringBuilder req = new StringBuilder("*" + args.length + "\r\n");
      for (String a : args) {
        req.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n")
            .append(a).append("\r\n");
      }
      OutputStream out = s.getOutputStream();
      out.write(req.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) != -1 && c != '\n') {
        if (c != '\r') {
          line.append((char) c);
        }
      }
      return line.toString();
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }

  private void launch() throws IOException {
    List<String> cmd = new ArrayList<>(List.of(executable.toString(),
        "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
        "--loglevel", "warning"));
    cmd.addAll(extraArgs);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IOException("redis-server exited with " + p.exitValue() + " on port " + port);
      }
      try {
        if ("+PONG".equals(command("PING"))) {
          process = p;
          return;
        }
      } catch (IOException notYet) {
        // still starting
      }
      try {
        p.waitFor(20, TimeUnit.MILLISECONDS); // a bounded pause between probes
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while starting redis-server", e);
      }
    }
    p.destroyForcibly();
    throw new IOException("redis-server did not answer PING on port " + port + " within "
        + START_TIMEOUT_MILLIS + " ms");
  }

  private static Path find() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path p = Path.of(dir, "redis-server");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    Path p = Path.of("/usr/bin/redis-server");
    if (Files.isExecutable(p)) {
      return p;
    }
    throw new AssertionError("redis-server is not installed (not on PATH nor /usr/bin): the Redis "
        + "tests need it. Install it: apt-get install -y redis-server (.ci/run does this).");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
