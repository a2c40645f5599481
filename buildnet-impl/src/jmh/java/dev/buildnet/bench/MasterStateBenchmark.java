package dev.buildnet.bench;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.client.RemoteClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A client's STATE_GET through a real master to its SQLite state backend over loopback: the
 * latency distribution (SampleTime gives p50/p99) of the whole round trip, handshake excluded.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class MasterStateBenchmark {
  private Path dir;
  private StateBackend state;
  private MasterServer master;
  private RemoteClient client;
  private StateBackend remote;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("buildnet-master-state-bench");
    byte[] secret = "benchmark secret of 32 bytes!!!!".getBytes(StandardCharsets.UTF_8);
    state = StateBackend.sqlite(dir.resolve("state.db"));
    state.set("cache/last", "value".getBytes(StandardCharsets.UTF_8));
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(secret)).start();
    client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(secret)).connect();
    remote = client.state();
  }

  @Benchmark
  public Optional<byte[]> stateGetRoundTrip() {
    return remote.get("cache/last");
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    client.close();
    master.close();
    state.close();
  }
}
