package dev.buildnet.bench;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import dev.buildnet.internal.protocol.Payloads.BlobPutResponse;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Codec and loopback transport speed. {@code codec*}: encode + decode of one frame (ops/s).
 * {@code roundTrip}: a small request/reply over TcpTransport on loopback (sample time, µs).
 * {@code blobUpload}: one 64 MiB blob as 1 MiB BLOB_PUT chunks with an 8-chunk window, until the
 * BLOB_PUT_RESPONSE (MB/s = 64 / (seconds per op)).
 */
@State(Scope.Benchmark)
public class ProtocolBenchmark {
  static final byte[] SECRET = "benchmark secret, 32 bytes long!".getBytes(StandardCharsets.UTF_8);
  static final int CHUNK = 1 << 20;
  static final int CHUNKS = 64;

  FrameCodec codec;
  Message buildRequest;
  Message buildProgress;
  TcpTransport server;
  TcpTransport client;
  PeerConnection connection;
  byte[] chunk;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    codec = FrameCodec.withDefaults();
    buildRequest =
        new Message(1, dev.buildnet.api.transport.MessageType.BUILD_REQUEST, "c-12", 1767225600000L, "jvm",
            new BuildRequest("b-42", List.of("app", "lib", "docs"), null, true, null,
                Map.of("NODE_ENV", "production", "CI", "1"), 600000L));
    buildProgress =
        new Message(1, dev.buildnet.api.transport.MessageType.BUILD_PROGRESS, "m-99", 1767225600000L, "jvm",
            new BuildProgress("b-42", 3, 10, "lib", "executing", "bundling lib"));
    server =
        TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("bench-master").maxQueuedBytes(256L << 20).build();
    Transport.Listener l =
        server.listen(
            0,
            c -> {
              long[] received = new long[1];
              return (conn, m) -> {
                PeerConnection p = PeerConnection.of(conn);
                if (m.payload() instanceof StateGet g) {
                  p.send(new StateResponse(m.id(), true, g.key().getBytes(StandardCharsets.UTF_8)));
                } else if (m.payload() instanceof BlobPut put) {
                  received[0] += put.data().length;
                  if (put.last()) {
                    p.send(new BlobPutResponse(m.id(), put.digest(), true));
                    received[0] = 0;
                  }
                }
              };
            });
    client = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("bench-client").build();
    connection = client.connect(l.localAddress(), Duration.ofSeconds(10), (c, m) -> {});
    chunk = new byte[CHUNK];
    new java.util.Random(1).nextBytes(chunk);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    client.close();
    server.close();
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public Message codecBuildRequest() {
    return codec.decode(codec.encode(buildRequest));
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public Message codecBuildProgress() {
    return codec.decode(codec.encode(buildProgress));
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Message roundTrip() throws Exception {
    return connection.request(new StateGet("k"), Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  public Message blobUpload64MiB() throws Exception {
    ArrayDeque<CompletableFuture<Void>> window = new ArrayDeque<>();
    for (int i = 0; i < CHUNKS - 1; i++) {
      if (window.size() >= 8) {
        window.removeFirst().get(10, TimeUnit.SECONDS);
      }
      window.add(connection.send(new BlobPut("t", (long) i * CHUNK, chunk, false, null, null)));
    }
    long last = (long) (CHUNKS - 1) * CHUNK;
    return connection
        .request(new BlobPut("t", last, chunk, true, "xxh64:0000000000000000", last + CHUNK),
            Duration.ofSeconds(30))
        .get(30, TimeUnit.SECONDS);
  }
}
