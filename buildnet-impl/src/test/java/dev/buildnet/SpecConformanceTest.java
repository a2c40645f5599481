package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.cache.Platform;
import dev.buildnet.graph.Target;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.Payloads.Ack;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.protocol.Payloads.BuildStarted;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.LockAcquire;
import dev.buildnet.internal.protocol.Payloads.LockResponse;
import dev.buildnet.internal.protocol.Payloads.Event;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.ResourceStatus;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.Subscribe;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.RemoteErrorException;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/**
 * What docs/PROTOCOL.md says a master does, checked against a real master over real sockets with
 * peers that speak the protocol by hand: each test is one sentence of the document.
 */
class SpecConformanceTest {
  private static final byte[] SECRET = "spec conformance secret, 32 b!!".getBytes(StandardCharsets.UTF_8);
  private static final Duration T = Duration.ofSeconds(30);

  @TempDir Path tmp;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** A peer whose unsolicited messages (not replies to its requests) land in {@link #received}. */
  private final class Peer implements Transport.Connection.Handler {
    final LinkedBlockingQueue<Message> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Throwable> closed = new CompletableFuture<>();
    PeerConnection connection;

    @Override
    public void onMessage(Transport.Connection c, Message m) {
      received.add(m);
    }

    @Override
    public void onClose(Transport.Connection c, Throwable cause) {
      closed.complete(cause);
    }

    Message next() throws InterruptedException {
      Message m = received.poll(T.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(m, "nothing received within " + T);
      return m;
    }

    Message request(Payload p) throws Exception {
      return connection.request(p, T).get(T.toSeconds(), TimeUnit.SECONDS);
    }
  }

  private Peer connect(InetSocketAddress at, TcpTransport.Builder b) throws Exception {
    TcpTransport transport = b.build();
    open.add(transport);
    Peer p = new Peer();
    p.connection = transport.connect(at, T, p);
    return p;
  }

  private Peer client(InetSocketAddress at) throws Exception {
    return connect(at, TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("spec-client").asClient());
  }

  private BuildNet buildNet(List<Target> targets, int localSlots) throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("ws"));
    BuildNet net = BuildNet.builder().workspace(ws).targets(targets).localSlots(localSlots)
        .listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET)).start();
    open.add(net);
    return net;
  }

  private MasterServer master(Duration interval, Duration timeout) {
    InMemoryStateBackend state = InMemoryStateBackend.builder().build();
    open.add(state);
    MasterServer m = MasterServer.builder().state(state).transport(TransportSettings.builder()
        .secret(SECRET).heartbeatInterval(interval).heartbeatTimeout(timeout).build()).start();
    open.add(m);
    return m;
  }

  @Test
  void aFinishedTargetIsBuiltInProgressAndEvents_andAFinishedBuildSucceeded() throws Exception {
    BuildNet net = buildNet(List.of(Target.builder("t").command("sh", "-c", "echo hi > out.txt")
        .outputs("out.txt").build()), 1);
    Peer c = client(net.master().orElseThrow().localAddress());
    c.request(new Subscribe("sub", "b-1", null));
    c.request(new BuildRequest("b-1", List.of("t"), null, null, null, null, null));
    String progress = null;
    String targetFinished = null;
    String buildFinished = null;
    boolean completed = false;
    while (!completed || buildFinished == null) {
      Payload p = c.next().payload();
      if (p instanceof BuildProgress pr) {
        progress = pr.phase();
      } else if (p instanceof Event e && e.kind().equals("target_finished")) {
        targetFinished = e.status();
      } else if (p instanceof Event e && e.kind().equals("build_finished")) {
        buildFinished = e.status();
      } else if (p instanceof BuildCompleted) {
        completed = true;
      }
    }
    String built = TargetOutcome.Status.BUILT.name().toLowerCase(Locale.ROOT);
    assertEquals("built", built);
    assertEquals(built, progress);
    assertEquals(built, targetFinished);
    assertEquals("succeeded", buildFinished);
  }

  @Test
  void outputsThatFailTheMastersChecks_failTheBuildWithoutAnExitCode() throws Exception {
    BuildNet net = buildNet(List.of(Target.builder("t").command("sh", "-c", "echo hi > out.txt")
        .outputs("out.txt").requires("remote").build()), 0);
    InetSocketAddress at = net.master().orElseThrow().localAddress();
    // A worker whose command "succeeds" but reports an output the target does not declare.
    CompletableFuture<PeerConnection> workerConnection = new CompletableFuture<>();
    TcpTransport wt = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("w-bad")
        .asWorker(List.of("remote"), 1, 1024).build();
    open.add(wt);
    byte[] content = "x".getBytes(StandardCharsets.UTF_8);
    PeerConnection w = wt.connect(at, T, new Transport.Connection.Handler() {
      @Override
      public void onMessage(Transport.Connection c, Message m) {
        if (m.payload() instanceof TargetRun run) {
          PeerConnection pc = workerConnection.join();
          pc.send(new BuildStarted(m.id(), run.buildId(), run.target(), run.attempt(), "w-bad"));
          pc.send(new BuildCompleted(run.buildId(), run.target(), run.attempt(), 1,
              List.of(new Output("undeclared.txt", HashProvider.xxh64().hash(content).toString(),
                  content.length, null)), null, null));
        }
      }

      @Override
      public void onClose(Transport.Connection c, Throwable cause) {}
    });
    workerConnection.complete(w);
    long deadline = System.nanoTime() + T.toNanos();
    while (net.master().orElseThrow().workers().isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "the worker never registered");
      Thread.sleep(10); // polling a condition with a bound
    }
    Peer c = client(at);
    c.request(new BuildRequest("b-2", List.of("t"), null, null, null, null, null));
    BuildFailed failed = null;
    while (failed == null) {
      if (c.next().payload() instanceof BuildFailed f) {
        failed = f;
      }
    }
    assertNull(failed.exitCode(), "no command failed: " + failed);
    assertEquals(List.of("t"), failed.failedTargets());
    assertTrue(failed.error().contains("undeclared.txt"), failed.error());
  }

  @Test
  void unsolicitedRepliesAreDroppedNotAnswered_otherUnservedTypesAreUnsupported() throws Exception {
    MasterServer m = master(Duration.ofSeconds(10), Duration.ofSeconds(30));
    Peer c = client(m.localAddress());
    c.connection.send(new ErrorReply(null, ErrorCode.INTERNAL.code(), "an error about nothing", false));
    c.connection.send(new ResourceStatus(null, null, true, 1, 1, 1, 1));
    c.connection.send(new Ack("never-asked"));
    c.connection.send(new StateResponse("never-asked", false, null));
    // The master serves one connection in order: an answer to any of the above would come first.
    Message reply = c.request(new StateGet("k"));
    assertInstanceOf(StateResponse.class, reply.payload());
    assertTrue(c.received.isEmpty(), "the master answered an unsolicited reply: " + c.received);
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> c.connection.request(new BuildProgress("b", 0, 1, null, null, null), T)
            .get(T.toSeconds(), TimeUnit.SECONDS));
    RemoteErrorException error = assertInstanceOf(RemoteErrorException.class, e.getCause());
    assertEquals(ErrorCode.UNSUPPORTED, error.code().orElseThrow());
    assertTrue(c.connection.isOpen());
  }

  @Test
  void aRefusedLock_carriesNoOtherFieldThanGranted() throws Exception {
    MasterServer m = master(Duration.ofSeconds(10), Duration.ofSeconds(30));
    Peer c = client(m.localAddress());
    LockResponse granted = (LockResponse) c.request(new LockAcquire("deploy", "one", 30_000, null)).payload();
    assertTrue(granted.granted());
    assertEquals("one", granted.holder());
    LockResponse refused = (LockResponse) c.request(new LockAcquire("deploy", "two", 30_000, null)).payload();
    assertEquals(new LockResponse(refused.replyTo(), false, null, null, null, null), refused);
  }

  @Test
  void anUnknownTypeBeforeTheHandshake_isFatal() throws Exception {
    MasterServer m = master(Duration.ofSeconds(10), Duration.ofSeconds(30));
    byte[] body;
    try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
      p.packMapHeader(6);
      p.packString("version"); p.packInt(1);
      p.packString("type"); p.packInt(0x99);
      p.packString("id"); p.packString("x-1");
      p.packString("timestamp"); p.packLong(0);
      p.packString("runtime"); p.packString("raw");
      p.packString("payload"); p.packMapHeader(0);
      body = p.toByteArray();
    }
    try (Socket s = new Socket()) {
      s.connect(m.localAddress(), 5000);
      s.setSoTimeout((int) T.toMillis());
      s.getOutputStream().write(ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array());
      s.getOutputStream().flush();
      FrameCodec codec = FrameCodec.withDefaults();
      FrameReader reader = new FrameReader(new DataInputStream(s.getInputStream()), codec);
      ErrorReply error = (ErrorReply) codec.decodeBody(reader.next()).payload();
      assertEquals(ErrorCode.UNKNOWN_TYPE.code(), error.code());
      assertTrue(error.fatal(), "before the handshake an unknown type is fatal: " + error);
      assertEquals("x-1", error.replyTo());
      assertNull(reader.next(), "the master closes the connection");
    }
  }

  @Test
  void aSilentClient_isDisconnectedAfterTheHeartbeatTimeoutWithATimeoutError() throws Exception {
    MasterServer m = master(Duration.ofMillis(100), Duration.ofMillis(400));
    Peer c = connect(m.localAddress(), TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("quiet")
        .asClient().automaticHeartbeats(false));
    c.closed.get(T.toSeconds(), TimeUnit.SECONDS);
    ErrorReply error = null;
    for (Message msg : c.received) {
      if (msg.payload() instanceof ErrorReply e) {
        error = e;
      }
    }
    assertNotNull(error, "the master said why: " + c.received);
    assertEquals(ErrorCode.TIMEOUT.code(), error.code());
    assertTrue(error.fatal());
  }

  @Test
  void theMastersOwnCapabilitiesAreItsPlatform_andTargetsMayRequireThem() throws Exception {
    Platform p = Platform.current();
    String osArch = p.os() + "-" + p.arch();
    BuildNet net = buildNet(List.of(Target.builder("t").command("sh", "-c", "echo hi > out.txt")
        .outputs("out.txt").requires(p.os(), osArch).build()), 1);
    assertTrue(net.capabilities().containsAll(List.of(p.os(), osArch)), net.capabilities().toString());
    assertEquals(TargetOutcome.Status.BUILT,
        net.build("t").get(T.toSeconds(), TimeUnit.SECONDS).target("t").orElseThrow().status());
  }

  @Test
  void aSecretFileLosesItsTrailingNewlinesAndNothingElse() throws Exception {
    Path f = tmp.resolve("secret");
    Files.write(f, " secret\nwith a newline inside\r\n\n".getBytes(StandardCharsets.UTF_8));
    assertArrayEquals(" secret\nwith a newline inside".getBytes(StandardCharsets.UTF_8),
        BuildNet.readSecret(f));
    Files.write(f, "short\n\n\n\n\n\n\n\n\n\n\n\n".getBytes(StandardCharsets.UTF_8));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BuildNet.readSecret(f));
    assertTrue(e.getMessage().contains("at least 16 bytes"), e.getMessage());
  }
}
