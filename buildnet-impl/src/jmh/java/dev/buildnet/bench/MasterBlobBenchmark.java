package dev.buildnet.bench;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.client.RemoteClient;
import dev.buildnet.internal.state.InMemoryStateBackend;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.Random;
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
 * A 64 MiB blob through a {@link MasterServer} over loopback (no TLS), both ends in this JVM, the
 * store and files in the temp directory: upload (read, hash, chunk, send; master writes, hashes,
 * publishes — the blob is already stored after the first, so later ones stream and verify but do
 * not rename) and download (master reads, hashes, sends; client writes, hashes, renames). MB/s =
 * 64 / (ms per op / 1000).
 *
 * <p>Run: {@code java -jar buildnet-impl/target/benchmarks.jar MasterBlobBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
public class MasterBlobBenchmark {
  private static final int MIB = 64;

  private Path directory;
  private StateBackend state;
  private MasterServer master;
  private RemoteClient client;
  private Path file;
  private Path copy;
  private Digest digest;

  @Setup
  public void setUp() throws IOException {
    directory = Files.createTempDirectory("buildnet-blob-bench");
    file = directory.resolve("blob");
    copy = directory.resolve("copy");
    byte[] block = new byte[1 << 20];
    Random random = new Random(5);
    try (OutputStream out = Files.newOutputStream(file)) {
      for (int i = 0; i < MIB; i++) {
        random.nextBytes(block);
        out.write(block);
      }
    }
    byte[] secret = "benchmark secret, 16+ bytes".getBytes(StandardCharsets.UTF_8);
    state = InMemoryStateBackend.create();
    DiskBlobStore store = new DiskBlobStore(directory.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(secret)).blobs(store).start();
    client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(secret)).connect();
    digest = client.blobs().upload(file);
  }

  @TearDown
  public void tearDown() throws IOException {
    client.close();
    master.close();
    state.close();
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  @Benchmark
  public Digest upload64MiB() {
    return client.blobs().upload(file);
  }

  @Benchmark
  public Path download64MiB() {
    client.blobs().download(digest, copy);
    return copy;
  }
}
