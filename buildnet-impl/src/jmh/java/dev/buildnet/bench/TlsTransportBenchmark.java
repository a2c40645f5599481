package dev.buildnet.bench;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import dev.buildnet.internal.transport.InlineHandler;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A listener on the selector loop, plaintext or TLS ({@code tls}), answering one connecting
 * client: {@code smallRequests} keeps 64 STATE_GET requests in flight (requests/s), {@code
 * largeFrames} sends 1 MiB STATE_SETs echoed back, 4 in flight (frames/s, 2 MiB moved each); and
 * {@code handshakes} opens and closes connections (TLS and BuildNet handshakes, per second).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx1g"})
public class TlsTransportBenchmark {
  private static final byte[] SECRET =
      "benchmark secret of 32 bytes!!!!".getBytes(StandardCharsets.UTF_8);
  private static final Duration T = Duration.ofSeconds(60);

  @Param({"false", "true"})
  boolean tls;

  private Path dir;
  private TcpTransport server;
  private TcpTransport client;
  private java.net.InetSocketAddress address;
  private PeerConnection connection;
  private final byte[] mib = new byte[1 << 20];

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("buildnet-tls-bench");
    TransportSettings.Builder settings = TransportSettings.builder().secret(SECRET);
    if (tls) {
      settings.tls(context(dir));
    }
    TransportSettings transport = settings.build();
    TcpTransport.Builder s = TcpTransport.builder().transport(transport).localId("master");
    TcpTransport.Builder c = TcpTransport.builder().transport(transport).localId("client");
    server = s.build();
    address = server.listen(0, conn -> (InlineHandler) (x, m) -> {
      PeerConnection p = PeerConnection.of(x);
      if (m.payload() instanceof StateGet g) {
        p.send(new StateResponse(m.id(), true, null));
      } else if (m.payload() instanceof StateSet set) {
        p.send(new StateResponse(m.id(), true, set.value()));
      }
    }).localAddress();
    client = c.build();
    connection = client.connect(address, T, (x, m) -> {});
  }

  @Benchmark
  @OperationsPerInvocation(10_000)
  public int smallRequests() throws Exception {
    return pipeline(10_000, 64, () -> new StateGet("k"));
  }

  @Benchmark
  @OperationsPerInvocation(32)
  public int largeFrames() throws Exception {
    return pipeline(32, 4, () -> new StateSet("k", mib, null, null, null));
  }

  @Benchmark
  public boolean handshakes() throws Exception {
    PeerConnection c = client.connect(address, T, (x, m) -> {});
    c.close();
    return c.isOpen();
  }

  private int pipeline(int n, int window, java.util.function.Supplier<dev.buildnet.api.transport.Payload> p)
      throws Exception {
    List<CompletableFuture<Message>> inFlight = new ArrayList<>();
    int done = 0;
    for (int i = 0; i < n; i++) {
      if (inFlight.size() == window) {
        inFlight.remove(0).get(60, TimeUnit.SECONDS);
        done++;
      }
      inFlight.add(connection.request(p.get(), T));
    }
    for (CompletableFuture<Message> f : inFlight) {
      f.get(60, TimeUnit.SECONDS);
      done++;
    }
    return done;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    client.close();
    server.close();
  }

  /** A self-signed EC key store made by the JDK's keytool, trusted by both sides. */
  static SSLContext context(Path dir) throws Exception {
    Path store = dir.resolve("bench.p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "bench",
            "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
            "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
            "-keystore", store.toString(), "-storetype", "PKCS12",
            "-storepass", "changeit", "-keypass", "changeit")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("keytool failed: " + out);
    }
    char[] password = "changeit".toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return context;
  }
}
