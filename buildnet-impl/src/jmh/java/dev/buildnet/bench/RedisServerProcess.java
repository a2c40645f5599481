package dev.buildnet.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** A throwaway {@code redis-server} on a free loopback port, no persistence, LRU at 1 GB. */
final class RedisServerProcess implements AutoCloseable {
  final int port;
  private final Process process;

  private RedisServerProcess(int port, Process process) {
    this.port = port;
    this.process = process;
  }

  static RedisServerProcess start() throws IOException, InterruptedException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind",
        "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory", "1gb",
        "--maxmemory-policy", "allkeys-lru").redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectErrorStream(true).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Socket probe = new Socket("127.0.0.1", port)) {
        return new RedisServerProcess(port, p);
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) {
          p.destroyForcibly();
          throw new IllegalStateException("redis-server did not start", notYet);
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
