package dev.buildnet.worker;


import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.exec.Pids;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.Ack;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.BuildStarted;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.HeartbeatAck;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.TargetCancel;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.RemoteErrorException;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real worker against a fake master over loopback, running real processes. */
class WorkerTest {
  private static final byte[] SECRET = "worker test secret, 32 bytes ok!".getBytes(UTF_8);
  private static final Duration T = Duration.ofSeconds(10);
  private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "GREETING", "hi");

  @TempDir Path tmp;
  private DiskBlobStore masterStore;
  private CountingBlobs blobs;
  private FakeMaster master;
  private Worker worker;

  @BeforeEach
  void start() throws Exception {
    masterStore = new DiskBlobStore(tmp.resolve("master-cas"), HashProvider.sha256(), Clock.systemUTC());
    blobs = new CountingBlobs(masterStore);
    master = new FakeMaster(0);
  }

  @AfterEach
  void stop() {
    if (worker != null) {
      worker.close();
    }
    master.close();
  }

  private Worker startWorker(long slots) throws Exception {
    worker = Worker.builder()
        .master("127.0.0.1", master.port())
        .transport(TransportSettings.ofSecret(SECRET))
        .workerId("w-test")
        .capabilities(List.of("sh"))
        .cpuSlots(slots)
        .memoryMb(1024)
        .workDir(tmp.resolve("work"))
        .blobs(blobs)
        .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .build()
        .connect();
    assertTrue(worker.awaitConnected(T));
    return worker;
  }

  private static TargetRun run(String target, long attempt, String script, List<Output> inputs,
      List<String> outputs) {
    return new TargetRun("b-1", target, attempt, List.of("bash", "-c", script), "", ENV, inputs,
        outputs, null, null);
  }

  @Test
  void aTargetReadingAnInputCompletesWithItsOutputDigestAndUploadsTheOutput() throws Exception {
    startWorker(2);
    PeerConnection c = master.awaitWorker();
    Digest in = masterStore.putBytes("hello\n".getBytes(UTF_8));
    TargetRun run = run("lib", 1, "mkdir -p out && tr a-z A-Z < src/in.txt > out/up.txt && echo $GREETING",
        List.of(new Output("src/in.txt", in.toString(), 6, null)), List.of("out"));

    Message started = c.request(run, T).get(10, TimeUnit.SECONDS);
    BuildStarted s = assertInstanceOf(BuildStarted.class, started.payload());
    assertEquals("lib", s.target());
    assertEquals(1L, s.attempt());
    assertEquals("w-test", s.workerId());
    BuildCompleted done = assertInstanceOf(BuildCompleted.class, master.terminal("lib", 1));

    Digest expected = HashProvider.sha256().hash("HELLO\n".getBytes(UTF_8));
    assertEquals(List.of(new Output("out/up.txt", expected.toString(), 6, null)), done.outputs());
    assertEquals(1L, done.attempt());
    assertEquals("HELLO\n", new String(masterStore.readVerified(expected).orElseThrow(), UTF_8));
    assertEquals(List.of("hi"), master.logLines("lib", "stdout"));
  }

  @Test
  void onlyInputsMissingFromTheWorkersStoreAreDownloaded() throws Exception {
    startWorker(2);
    PeerConnection c = master.awaitWorker();
    Digest a = masterStore.putBytes("a".getBytes(UTF_8));
    Digest b = masterStore.putBytes("b".getBytes(UTF_8));
    Output inA = new Output("a.txt", a.toString(), 1, null);
    Output inA2 = new Output("copy/a.txt", a.toString(), 1, null);
    Output inB = new Output("b.txt", b.toString(), 1, true);

    c.request(run("one", 1, "cat a.txt copy/a.txt > one.txt", List.of(inA, inA2), List.of("one.txt")), T)
        .get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("one", 1));
    assertEquals(List.of(a), blobs.downloads);

    c.request(run("two", 1, "test -x b.txt && cat a.txt b.txt > two.txt", List.of(inA, inB),
        List.of("two.txt")), T).get(10, TimeUnit.SECONDS);
    BuildCompleted two = assertInstanceOf(BuildCompleted.class, master.terminal("two", 1));
    assertEquals(List.of(a, b), blobs.downloads);
    assertEquals(HashProvider.sha256().hash("ab".getBytes(UTF_8)).toString(),
        two.outputs().get(0).digest());
  }

  @Test
  void aFailingCommandEndsInBuildFailedWithItsExitCode() throws Exception {
    startWorker(1);
    PeerConnection c = master.awaitWorker();
    c.request(run("bad", 2, "echo oops >&2; exit 3", List.of(), List.of("never")), T)
        .get(10, TimeUnit.SECONDS);
    BuildFailed f = assertInstanceOf(BuildFailed.class, master.terminal("bad", 2));
    assertEquals(3L, f.exitCode());
    assertEquals(2L, f.attempt());
    assertFalse(f.retryable());
    assertEquals(List.of("oops"), master.logLines("bad", "stderr"));
  }

  @Test
  void logLinesArriveAsBuildProgressInOrderBeforeTheResult() throws Exception {
    startWorker(1);
    PeerConnection c = master.awaitWorker();
    c.request(run("log", 1, "for i in $(seq 1 200); do echo line $i; done", List.of(), List.of()), T)
        .get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("log", 1));
    List<String> expected = new ArrayList<>();
    for (int i = 1; i <= 200; i++) {
      expected.add("line " + i);
    }
    assertEquals(expected, master.logLines("log", "stdout"));
  }

  @Test
  void targetCancelKillsTheProcessTree() throws Exception {
    startWorker(1);
    PeerConnection c = master.awaitWorker();
    c.request(run("slow", 1, "sleep 60 & echo child $!; wait", List.of(), List.of()), T)
        .get(10, TimeUnit.SECONDS);
    BuildProgress line = master.awaitLog("slow");
    long child = Long.parseLong(line.message().substring("child ".length()));
    assertTrue(Pids.isRunning(child));

    Message ack = c.request(new TargetCancel("b-1", "slow", 1, "superseded"), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(Ack.class, ack.payload());
    BuildFailed f = assertInstanceOf(BuildFailed.class, master.terminal("slow", 1));
    assertTrue(f.error().contains("cancelled"), f.error());
    assertFalse(Pids.isRunning(child), "the child " + child + " survived the cancel");

    ExecutionException unknown = assertThrows(ExecutionException.class,
        () -> c.request(new TargetCancel("b-1", "slow", 1, null), T).get(10, TimeUnit.SECONDS));
    assertEquals(ErrorCode.NOT_FOUND,
        assertInstanceOf(RemoteErrorException.class, unknown.getCause()).code().orElseThrow());
  }

  @Test
  void aDaemonAnAttemptStarted_isGoneWhenTheAttemptEnds() throws Exception {
    startWorker(1);
    PeerConnection c = master.awaitWorker();
    // setsid, a fork whose parent exits at once, and output sent elsewhere: a classic daemon.
    String script = "setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > d.pid'"
        + " </dev/null >/dev/null 2>&1 & while [ ! -s d.pid ]; do sleep 0.01; done;"
        + " echo daemon $(cat d.pid)";
    c.request(run("daemon", 1, script, List.of(), List.of()), T).get(10, TimeUnit.SECONDS);

    assertInstanceOf(BuildCompleted.class, master.terminal("daemon", 1));
    BuildProgress line = master.awaitLog("daemon");
    long daemon = Long.parseLong(line.message().substring("daemon ".length()));
    awaitNotRunning(daemon);
  }

  @Test
  void aRunBeyondTheFreeSlotsIsRefusedBusy() throws Exception {
    startWorker(1);
    PeerConnection c = master.awaitWorker();
    c.request(run("slow", 1, "echo up; sleep 60", List.of(), List.of()), T).get(10, TimeUnit.SECONDS);
    master.awaitLog("slow");
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> c.request(run("other", 1, "true", List.of(), List.of()), T).get(10, TimeUnit.SECONDS));
    assertEquals(ErrorCode.BUSY,
        assertInstanceOf(RemoteErrorException.class, e.getCause()).code().orElseThrow());
    c.request(new TargetCancel("b-1", "slow", 1, null), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildFailed.class, master.terminal("slow", 1));
  }

  @Test
  void aHeartbeatFromTheMasterIsAnsweredByHeartbeatAckAlone() throws Exception {
    // docs/PROTOCOL.md, "Liveness": either side answers HEARTBEAT with HEARTBEAT_ACK. The worker
    // once also answered it ERROR UNSUPPORTED, which reached the master first.
    startWorker(1);
    PeerConnection c = master.awaitWorker();
    Message reply = c.request(new Heartbeat(null), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(HeartbeatAck.class, reply.payload());
  }

  @Test
  void pathsThatEscapeTheSandboxAreRefused() throws Exception {
    startWorker(2);
    PeerConnection c = master.awaitWorker();
    Digest a = masterStore.putBytes("a".getBytes(UTF_8));
    Path victim = tmp.resolve("work").resolve("pwned");

    c.request(run("in", 1, "true", List.of(new Output("../pwned", a.toString(), 1, null)), List.of()), T)
        .get(10, TimeUnit.SECONDS);
    BuildFailed in = assertInstanceOf(BuildFailed.class, master.terminal("in", 1));
    assertTrue(in.error().contains("escapes the sandbox"), in.error());
    assertFalse(in.retryable());

    c.request(run("out", 1, "true", List.of(), List.of("/etc/passwd")), T).get(10, TimeUnit.SECONDS);
    BuildFailed out = assertInstanceOf(BuildFailed.class, master.terminal("out", 1));
    assertTrue(out.error().contains("absolute"), out.error());

    c.request(run("out2", 1, "true", List.of(), List.of("dist/../../x")), T).get(10, TimeUnit.SECONDS);
    BuildFailed out2 = assertInstanceOf(BuildFailed.class, master.terminal("out2", 1));
    assertTrue(out2.error().contains("escapes the sandbox"), out2.error());

    assertFalse(Files.exists(victim));
    assertEquals(List.of(), blobs.downloads, "nothing is fetched for a refused attempt");
  }

  @Test
  void theWorkerReconnectsWhenTheMasterGoesAwayAndComesBack() throws Exception {
    startWorker(1);
    PeerConnection first = master.awaitWorker();
    first.request(run("slow", 1, "sleep 60 & echo child $!; wait", List.of(), List.of()), T)
        .get(10, TimeUnit.SECONDS);
    long child = Long.parseLong(master.awaitLog("slow").message().substring("child ".length()));

    int port = master.port();
    master.close();
    master = new FakeMaster(port);
    PeerConnection second = master.awaitWorker();
    assertEquals("w-test", second.peerId());
    long deadline = System.nanoTime() + T.toNanos();
    while (worker.connectionCount() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(10); // the master may finish its side of the handshake before the worker does
    }
    assertEquals(2, worker.connectionCount());
    awaitNotRunning(child); // the dropped connection's attempt was cancelled

    second.request(run("again", 1, "echo back", List.of(), List.of()), T).get(10, TimeUnit.SECONDS);
    assertInstanceOf(BuildCompleted.class, master.terminal("again", 1));
  }

  @Test
  void closeCancelsAttemptsDeletesSandboxesAndLeavesNoThread() throws Exception {
    startWorker(2);
    PeerConnection c = master.awaitWorker();
    c.request(run("slow", 1, "sleep 60 & echo child $!; wait", List.of(), List.of()), T)
        .get(10, TimeUnit.SECONDS);
    long child = Long.parseLong(master.awaitLog("slow").message().substring("child ".length()));

    worker.close();
    worker.close();
    assertFalse(Pids.isRunning(child));
    assertFalse(Files.exists(tmp.resolve("work").resolve("sandboxes")));
    master.close();
    awaitNoThreads();
    assertThrows(IllegalStateException.class, worker::connect);
  }

  @Test
  void theBuilderSaysWhatIsMissing() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Worker.builder().workerId("w").cpuSlots(1).build());
    assertEquals("a Worker needs master, transport", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Worker.builder().cpuSlots(0));
    assertThrows(IllegalArgumentException.class, () -> Worker.builder().workerId("a b"));
    assertThrows(IllegalArgumentException.class,
        () -> Worker.builder().reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
  }

  // ---- helpers -------------------------------------------------------------------------------

  private static void awaitNotRunning(long pid) throws InterruptedException {
    long deadline = System.nanoTime() + T.toNanos();
    while (Pids.isRunning(pid) && System.nanoTime() < deadline) {
      Thread.sleep(20); // polling a condition with a bound; there is no event to wait on
    }
    assertFalse(Pids.isRunning(pid), "pid " + pid + " still runs");
  }

  /** The worker's, the transports' and the shell's threads end (the shell's on an idle timeout). */
  private static void awaitNoThreads() throws InterruptedException {
    long deadline = System.nanoTime() + T.toNanos();
    Set<String> names = threads();
    while (!names.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50); // polling a condition with a bound; there is no event to wait on
      names = threads();
    }
    assertEquals(Set.of(), names);
  }

  private static Set<String> threads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.startsWith("buildnet-worker") || n.startsWith("buildnet-net")
            || n.startsWith("buildnet-exec"))
        .collect(Collectors.toSet());
  }

  /** The master's blob store as the worker sees it, counting downloads (opens). */
  static final class CountingBlobs implements dev.buildnet.api.blob.BlobStore {
    final DiskBlobStore store;
    final List<Digest> downloads = new CopyOnWriteArrayList<>();

    CountingBlobs(DiskBlobStore store) {
      this.store = store;
    }

    @Override
    public String name() {
      return "counting " + store.name();
    }

    @Override
    public dev.buildnet.api.hash.HashProvider hashes() {
      return store.hashes();
    }

    @Override
    public boolean has(Digest digest) {
      return store.has(digest);
    }

    @Override
    public java.util.OptionalLong size(Digest digest) {
      return store.size(digest);
    }

    @Override
    public java.util.Optional<java.io.InputStream> open(Digest digest) throws IOException {
      downloads.add(digest);
      return store.open(digest);
    }

    @Override
    public boolean put(Digest expected, java.io.InputStream in) throws IOException {
      return store.put(expected, in);
    }

    @Override
    public void close() {}
  }

  /** A listener that accepts workers and queues every unsolicited message they send. */
  static final class FakeMaster implements AutoCloseable {
    final TcpTransport transport;
    final Transport.Listener listener;
    final BlockingQueue<PeerConnection> accepted = new LinkedBlockingQueue<>();
    final BlockingQueue<Payload> received = new LinkedBlockingQueue<>();
    final List<Payload> seen = new ArrayList<>();

    FakeMaster(int port) throws IOException {
      transport = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("master-1").build();
      listener = transport.listen(port, c -> {
        accepted.add(PeerConnection.of(c));
        return new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection conn, Message m) {
            received.add(m.payload());
          }
        };
      });
    }

    int port() {
      return listener.localAddress().getPort();
    }

    PeerConnection awaitWorker() throws InterruptedException {
      PeerConnection c = accepted.poll(10, TimeUnit.SECONDS);
      assertNotNull(c, "no worker connected");
      return c;
    }

    /** The BUILD_COMPLETED or BUILD_FAILED of this attempt. */
    Payload terminal(String target, long attempt) throws InterruptedException {
      return next(p -> (p instanceof BuildCompleted d && d.target().equals(target) && d.attempt() == attempt)
          || (p instanceof BuildFailed f && f.target().equals(target) && f.attempt() == attempt));
    }

    BuildProgress awaitLog(String target) throws InterruptedException {
      return (BuildProgress) next(p -> p instanceof BuildProgress b && b.target().equals(target));
    }

    private Payload next(java.util.function.Predicate<Payload> wanted) throws InterruptedException {
      synchronized (seen) {
        for (Payload p : seen) {
          if (wanted.test(p) && !consumed.contains(p)) {
            consumed.add(p);
            return p;
          }
        }
      }
      long deadline = System.nanoTime() + T.toNanos();
      while (true) {
        Payload p = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        assertNotNull(p, "the expected message did not arrive");
        synchronized (seen) {
          seen.add(p);
          if (wanted.test(p)) {
            consumed.add(p);
            return p;
          }
        }
      }
    }

    private final Set<Payload> consumed = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    /** The log lines of {@code target} on {@code stream} seen so far, in arrival order. */
    List<String> logLines(String target, String stream) {
      synchronized (seen) {
        received.drainTo(seen);
        return seen.stream()
            .filter(p -> p instanceof BuildProgress b && b.target().equals(target)
                && "log".equals(b.phase()) && stream.equals(b.stream()))
            .map(p -> ((BuildProgress) p).message())
            .toList();
      }
    }

    @Override
    public void close() {
      transport.close();
    }
  }
}
