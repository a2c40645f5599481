package dev.buildnet.bench;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.transport.Message;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.worker.Worker;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The master with many connections: {@code idle} authenticated clients that only heartbeat and
 * {@code unauthenticated} sockets trickling bytes of a HELLO that never completes (both from an
 * {@link IdlePeers} process), while 4 busy workers in this JVM run {@code targets} no-op targets
 * ({@code dispatchNoOps}, like {@link DispatchBenchmark}: targets/s = targets / time), and a
 * client's STATE_GET round trip is sampled ({@code roundTrip}: read its p99).
 */
@State(Scope.Benchmark)
@Warmup(iterations = 2)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class ManyConnectionsBenchmark {
  private static final byte[] SECRET = "benchmark secret of 32 bytes!!!!".getBytes(StandardCharsets.UTF_8);

  @Param({"10000"})
  int idle;

  @Param({"0", "1000"})
  int unauthenticated;

  @Param({"5000"})
  int targets;

  private Path workspace;
  private BuildNet net;
  private final List<Worker> workers = new ArrayList<>();
  private List<String> names;
  private Process peers;
  private TcpTransport clientTransport;
  private PeerConnection client;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    workspace = Files.createTempDirectory("buildnet-many-bench");
    List<Target> graph = new ArrayList<>();
    names = new ArrayList<>();
    for (int i = 0; i < targets; i++) {
      graph.add(Target.builder("t" + i).command("noop").cacheable(false).requires("bench").build());
      names.add("t" + i);
    }
    net = BuildNet.builder().workspace(workspace).targets(graph).localSlots(0)
        .listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET))
        .state(dev.buildnet.api.state.StateBackend.inMemory()).start();
    InetSocketAddress at = AddOns.master(net).orElseThrow().localAddress();
    peers = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
            "-cp", System.getProperty("java.class.path"), IdlePeers.class.getName(),
            at.getHostString(), Integer.toString(at.getPort()), Integer.toString(idle),
            Integer.toString(unauthenticated), HexFormat.of().formatHex(SECRET))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(peers.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null || !line.startsWith("ready")) {
      throw new IllegalStateException("the idle peers did not come up: " + line);
    }
    System.out.println("[" + line + "]");
    for (int i = 0; i < 4; i++) {
      Worker w = BuildNet.worker().transport(TransportSettings.ofSecret(SECRET)).workerId("w" + i).cpuSlots(8).memoryMb(1024)
          .capabilities(List.of("bench")).shell(new EngineBenchmark.NoOpShell())
          .workDir(workspace.resolve("work-" + i)).connect(at.getHostString(), at.getPort());
      if (!w.awaitConnected(Duration.ofSeconds(30))) {
        throw new IllegalStateException("worker " + i + " did not connect");
      }
      workers.add(w);
    }
    while (AddOns.master(net).orElseThrow().workers().size() < 4) {
      Thread.sleep(10);
    }
    clientTransport = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("bench-client").build();
    client = clientTransport.connect(at, Duration.ofSeconds(30), (c, m) -> {});
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  public BuildResult dispatchNoOps() throws Exception {
    BuildResult r = net.build(names, false).get(10, TimeUnit.MINUTES);
    if (!r.success()) {
      throw new IllegalStateException(r.errors().toString());
    }
    return r;
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 2, time = 2)
  @Measurement(iterations = 3, time = 3)
  public Message roundTrip() throws Exception {
    return client.request(new StateGet("k"), Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    client.close();
    clientTransport.close();
    for (Worker w : workers) {
      w.close();
    }
    peers.getOutputStream().close();
    if (!peers.waitFor(10, TimeUnit.SECONDS)) {
      peers.destroyForcibly();
    }
    net.close();
  }
}
