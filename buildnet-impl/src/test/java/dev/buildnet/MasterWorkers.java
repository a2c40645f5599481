package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.worker.Worker;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The setup tests of distributed builds repeat: a master embedded in BuildNet on loopback, and
 * in-process workers connected to it over real sockets. Everything it starts (and whatever a test
 * hands to {@link #track}) is closed in reverse order by {@link #close()}, from an
 * {@code @AfterEach}.
 */
final class MasterWorkers implements AutoCloseable {
  static final byte[] SECRET =
      "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);

  private final Path tmp;
  private final long waitSeconds;
  private final List<AutoCloseable> open = new ArrayList<>();

  /** Workers' directories go under {@code tmp}; every wait gives up after {@code waitSeconds}. */
  MasterWorkers(Path tmp, long waitSeconds) {
    this.tmp = tmp;
    this.waitSeconds = waitSeconds;
  }

  /** Starts {@code b} as a master listening on a free loopback port with {@link #SECRET}. */
  BuildNet master(BuildNet.Builder b) {
    return track(b.listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET)).start());
  }

  /**
   * Connects a worker {@code id} with 2 CPU slots, 1024 MB and {@code caps} to {@code net}, and
   * waits until the master has registered it (so a build placed next can use it).
   */
  Worker worker(BuildNet net, String id, String... caps) throws InterruptedException {
    return connect(net, BuildNet.worker().workerId(id).cpuSlots(2).memoryMb(1024)
        .capabilities(List.of(caps)).workDir(tmp.resolve("work-" + id)));
  }

  /**
   * Connects the worker {@code b} describes (it must set a worker id) to {@code net} with
   * {@link #SECRET}, and waits until the master has registered it.
   */
  Worker connect(BuildNet net, Worker.Builder b) throws InterruptedException {
    InetSocketAddress at = net.master().orElseThrow().localAddress();
    Worker w = track(b.transport(TransportSettings.ofSecret(SECRET)).connect(at.getHostString(), at.getPort()));
    assertTrue(w.awaitConnected(Duration.ofSeconds(waitSeconds)));
    awaitRegistered(net, w.workerId());
    return w;
  }

  /** Waits until {@code net}'s master lists a worker {@code id}. */
  void awaitRegistered(BuildNet net, String id) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
    while (net.master().orElseThrow().workers().stream().noneMatch(w -> w.id().equals(id))) {
      assertTrue(System.nanoTime() < deadline, "worker " + id + " never registered");
      Thread.sleep(10); // polling a condition with a bound; registration has no public event
    }
  }

  /** Closes {@code c} with the rest. */
  <T extends AutoCloseable> T track(T c) {
    open.add(c);
    return c;
  }

  @Override
  public void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    open.clear();
  }
}
