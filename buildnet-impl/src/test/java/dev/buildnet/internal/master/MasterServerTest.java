package dev.buildnet.internal.master;

import dev.buildnet.client.TestPeers;

import dev.buildnet.tck.MutableClock;
import dev.buildnet.client.RemoteClient;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.protocol.Payloads.LockRelease;
import dev.buildnet.internal.protocol.Payloads.LockRenew;
import dev.buildnet.internal.protocol.Payloads.ResourceClaim;
import dev.buildnet.internal.protocol.Payloads.ResourceRelease;
import dev.buildnet.internal.protocol.Payloads.ResourceStatus;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateIncrement;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** A real master on loopback with a hand-moved monotonic clock; workers are {@link FakeWorker}s. */
class MasterServerTest {
  static final byte[] SECRET = "master test secret, 16+ bytes".getBytes(UTF_8);
  static final Duration INTERVAL = Duration.ofSeconds(10);
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  final LinkedBlockingQueue<WorkerEvent> events = new LinkedBlockingQueue<>();
  final MutableClock stateClock = new MutableClock();
  StateBackend state;
  MasterServer master;

  @BeforeEach
  void start() {
    state = InMemoryStateBackend.builder().clock(stateClock).build();
    master = MasterServer.builder().state(state).transport(TransportSettings.builder().secret(SECRET)
        .heartbeatInterval(INTERVAL).heartbeatTimeout(TIMEOUT).build()).id("m-1")
        .nanoTime(nanos::get).start();
    master.addWorkerListener(events::add);
  }

  @AfterEach
  void stop() {
    master.close();
    state.close();
  }

  FakeWorker worker(String id) throws Exception {
    return new FakeWorker(master.localAddress(), SECRET, id, List.of("node", "esbuild"), 4, 8192);
  }

  RemoteClient client(String id) {
    return RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET)).clientId(id).connect();
  }

  WorkerEvent nextEvent() throws InterruptedException {
    WorkerEvent e = events.poll(10, TimeUnit.SECONDS);
    assertTrue(e != null, "no worker event within 10 s");
    return e;
  }

  static RemoteErrorException errorOf(Executable call) {
    ExecutionException e = assertThrows(ExecutionException.class, call);
    return assertInstanceOf(RemoteErrorException.class, e.getCause());
  }

  static void assertError(ErrorCode code, FakeWorker w, dev.buildnet.api.transport.Payload p) {
    RemoteErrorException e = errorOf(() -> w.connection.request(p, FakeWorker.T).get(10, TimeUnit.SECONDS));
    assertEquals(code, e.code().orElseThrow(), e.getMessage());
  }

  @Test
  void worker_appearsInWorkersWithItsCapabilitiesAndResources() throws Exception {
    try (FakeWorker w = worker("w-1")) {
      WorkerEvent joined = nextEvent();
      assertEquals(WorkerEvent.Kind.JOINED, joined.kind());
      WorkerInfo info = master.workers().get(0);
      assertEquals(1, master.workers().size());
      assertEquals("w-1", info.id());
      assertEquals("jvm", info.runtime());
      assertEquals(List.of("node", "esbuild"), info.capabilities());
      assertEquals(4, info.cpuSlots());
      assertEquals(8192, info.memoryMb());
      assertEquals(0, info.claimedCpuSlots());
      assertEquals("w-1", joined.worker().id());
      assertEquals(List.of("node", "esbuild"), joined.worker().capabilities());
      w.heartbeat(3L);
      assertEquals(3, master.workers().get(0).runningAttempts());
    }
  }

  @Test
  void worker_thatStopsHeartbeating_isDeclaredDeadAfterTheTimeoutOnTheMastersClock() throws Exception {
    try (FakeWorker w = worker("w-1")) {
      assertEquals(WorkerEvent.Kind.JOINED, nextEvent().kind());
      nanos.addAndGet(TIMEOUT.toNanos() - 1);
      w.heartbeat(null); // just in time: the silence restarts
      nanos.addAndGet(TIMEOUT.toNanos() - 1);
      master.checkLiveness();
      assertEquals(1, master.workers().size());
      assertEquals(Duration.ofNanos(TIMEOUT.toNanos() - 1), master.workers().get(0).silentFor());

      nanos.addAndGet(1); // now silent for exactly the timeout
      master.checkLiveness();
      WorkerEvent dead = nextEvent();
      assertEquals(WorkerEvent.Kind.DEAD, dead.kind());
      assertEquals("w-1", dead.worker().id());
      assertTrue(dead.reason().contains("no heartbeat"), dead.reason());
      assertEquals(List.of(), master.workers());
      w.closed.get(10, TimeUnit.SECONDS); // the master disconnected it
      master.checkLiveness();
      assertTrue(events.isEmpty(), "declared dead once: " + events);
    }
  }

  @Test
  void worker_closingItsConnection_isReportedAsLeft() throws Exception {
    FakeWorker w = worker("w-1");
    assertEquals(WorkerEvent.Kind.JOINED, nextEvent().kind());
    w.close();
    WorkerEvent left = nextEvent();
    assertEquals(WorkerEvent.Kind.LEFT, left.kind());
    assertEquals(List.of(), master.workers());
  }

  @Test
  void resourceClaims_areAccountedPerWorkerAndReleased() throws Exception {
    try (FakeWorker w = worker("w-1")) {
      ResourceStatus first = (ResourceStatus) w.request(new ResourceClaim("c-1", 3, 2048)).payload();
      assertTrue(first.granted());
      assertEquals(List.of(1L, 6144L, 4L, 8192L),
          List.of(first.cpuSlotsFree(), first.memoryMbFree(), first.cpuSlotsTotal(), first.memoryMbTotal()));
      ResourceStatus again = (ResourceStatus) w.request(new ResourceClaim("c-1", 3, 2048)).payload();
      assertEquals(1, again.cpuSlotsFree(), "a repeated claim is not counted twice");
      WorkerInfo info = master.workers().get(0);
      assertEquals(3, info.claimedCpuSlots());
      assertEquals(2048, info.claimedMemoryMb());
      assertEquals(1, info.claims());
      assertEquals(1, info.freeCpuSlots());

      assertError(ErrorCode.BUSY, w, new ResourceClaim("c-2", 2, 1));
      assertError(ErrorCode.INVALID_PAYLOAD, w, new ResourceClaim("c-3", 5, 1));
      assertError(ErrorCode.INVALID_PAYLOAD, w, new ResourceClaim("c-4", 1, 9000));
      assertError(ErrorCode.NOT_FOUND, w, new ResourceRelease("nope"));

      ResourceStatus released = (ResourceStatus) w.request(new ResourceRelease("c-1")).payload();
      assertEquals(4, released.cpuSlotsFree());
      assertEquals(8192, released.memoryMbFree());
      assertEquals(0, master.workers().get(0).claimedCpuSlots());
      assertTrue(((ResourceStatus) w.request(new ResourceClaim("c-2", 2, 1)).payload()).granted());
    }
  }

  @Test
  void resourceClaim_fromAClient_isUnsupported() throws Exception {
    try (RemoteClient c = client("cli-1")) {
      RemoteErrorException e = errorOf(() -> TestPeers.connection(c)
          .request(new ResourceClaim("c-1", 1, 1), FakeWorker.T).get(10, TimeUnit.SECONDS));
      assertEquals(ErrorCode.UNSUPPORTED, e.code().orElseThrow());
      assertEquals(List.of(), master.workers(), "clients are not workers");
    }
  }

  @Test
  void wrongSecret_isRefused() {
    StateException e = assertThrows(StateException.class, () -> RemoteClient.builder()
        .address(master.localAddress()).transport(TransportSettings.ofSecret("not the master's secret!".getBytes(UTF_8))).connect());
    assertTrue(e.getMessage().contains("AUTH_FAILED"), e.getMessage());
  }

  @Test
  void lock_heldByOneClient_isRefusedToAnotherUntilReleasedOrExpired_withRisingTokens() {
    Duration lease = Duration.ofSeconds(20);
    try (RemoteClient a = client("cli-a"); RemoteClient b = client("cli-b")) {
      Lock first = a.state().acquireLock("deploy", lease, "alice").orElseThrow();
      assertTrue(b.state().acquireLock("deploy", lease, "bob").isEmpty());
      a.state().release(first);
      Lock second = b.state().acquireLock("deploy", lease, "bob").orElseThrow();
      assertTrue(second.fencingToken() > first.fencingToken());
      assertTrue(a.state().acquireLock("deploy", lease, "alice").isEmpty());
      stateClock.advance(lease);
      Lock third = a.state().acquireLock("deploy", lease, "alice").orElseThrow();
      assertTrue(third.fencingToken() > second.fencingToken());
      assertEquals(StateException.Reason.LOCK_NOT_HELD,
          assertThrows(StateException.class, () -> b.state().release(second)).reason());
    }
  }

  @Test
  void badRequests_getErrorRepliesAndTheConnectionStaysOpen() throws Exception {
    try (FakeWorker w = worker("w-1")) {
      w.request(new StateSet("n", "x".getBytes(UTF_8), null));
      assertError(ErrorCode.STATE_ERROR, w, new StateIncrement("n", 1));
      assertError(ErrorCode.LOCK_NOT_HELD, w, new LockRenew("r", "alice", "not-a-token", 1000));
      assertError(ErrorCode.LOCK_NOT_HELD, w, new LockRelease("r", "1"));
      assertError(ErrorCode.UNSUPPORTED, w, new BuildRequest("b-1", List.of("app"), null, null, null, null, null));
      StateResponse r = (StateResponse) w.request(new StateGet("n")).payload();
      assertEquals("x", new String(r.value(), UTF_8));
      assertTrue(w.connection.isOpen());
    }
  }

  @Test
  void anErrorQuotingAHugeRequest_isCutToTheBound_andTheConnectionStaysOpen() throws Exception {
    try (FakeWorker w = worker("w-1")) {
      String key = "k".repeat(5 << 20);
      w.request(new StateSet(key, "not a number".getBytes(UTF_8), null));

      RemoteErrorException e = errorOf(() -> w.connection.request(new StateIncrement(key, 1),
          FakeWorker.T).get(10, TimeUnit.SECONDS));

      assertEquals(ErrorCode.STATE_ERROR, e.code().orElseThrow());
      String message = e.remoteMessage();
      String head = message.substring(0, Math.min(200, message.length()));
      assertTrue(message.length() <= dev.buildnet.internal.protocol.ErrorText.MAX_CHARS,
          message.length() + " characters: " + head);
      assertTrue(message.startsWith(state.name() + ": cannot increment key 'kkk"), head);
      assertTrue(w.connection.isOpen());
    }
  }

  @Test
  void abusiveBytes_onOneConnection_doNotDisturbOthers() throws Exception {
    try (FakeWorker w = worker("w-1"); RemoteClient c = client("cli-1")) {
      assertEquals(WorkerEvent.Kind.JOINED, nextEvent().kind());
      try (Socket raw = new Socket(master.localAddress().getAddress(), master.localAddress().getPort())) {
        raw.setSoTimeout(10_000);
        OutputStream out = raw.getOutputStream();
        out.write(new byte[] {0, 0, 0, 4, (byte) 0xc1, (byte) 0xc1, (byte) 0xc1, (byte) 0xc1});
        out.flush();
        byte[] reply = raw.getInputStream().readAllBytes(); // an ERROR frame, then end of stream
        assertEquals(ErrorCode.BAD_FRAME.code(),
            ((dev.buildnet.internal.protocol.Payloads.ErrorReply) FrameCodec.withDefaults().decode(reply).payload()).code());
      }
      c.state().setString("k", "still here");
      assertEquals("still here", c.state().getString("k").orElseThrow());
      w.heartbeat(null);
      assertEquals(1, master.workers().size());
      assertTrue(events.isEmpty(), "no worker event from the abuse: " + events);
    }
  }

  @Test
  void close_isIdempotentStopsItsThreadsAndDeliversNoMoreEvents() throws Exception {
    FakeWorker w = worker("w-1");
    assertEquals(WorkerEvent.Kind.JOINED, nextEvent().kind());
    master.close();
    master.close();
    w.closed.get(10, TimeUnit.SECONDS);
    w.close();
    // A pool thread can still be leaving run() when awaitTermination returns: wait for the
    // threads themselves to end (the deadline only bounds a failure).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (masterThreadAlive() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertFalse(masterThreadAlive(), "master threads still alive");
    assertTrue(events.isEmpty(), "no events after close: " + events);
  }

  @Test
  void builder_isStrict() {
    assertThrows(IllegalStateException.class, () -> MasterServer.builder().transport(TransportSettings.ofSecret(SECRET)).start());
    assertThrows(IllegalStateException.class, () -> MasterServer.builder().state(state).start());
    IllegalStateException transportTwice = assertThrows(IllegalStateException.class,
        () -> MasterServer.builder().transport(TransportSettings.ofSecret(SECRET))
            .transport(TransportSettings.ofSecret(SECRET)));
    assertTrue(transportTwice.getMessage().contains("transport was already set"),
        transportTwice.getMessage());
    IllegalStateException twice = assertThrows(IllegalStateException.class,
        () -> TransportSettings.builder().heartbeatInterval(INTERVAL).heartbeatInterval(INTERVAL));
    assertTrue(twice.getMessage().contains("heartbeatInterval was already set"), twice.getMessage());
    IllegalStateException order = assertThrows(IllegalStateException.class, () -> TransportSettings
        .builder().secret(SECRET).heartbeatInterval(TIMEOUT).heartbeatTimeout(INTERVAL).build());
    assertTrue(order.getMessage().contains("must be longer"), order.getMessage());
    assertThrows(IllegalArgumentException.class, () -> TransportSettings.builder().secret(new byte[3]));
    assertThrows(IllegalArgumentException.class,
        () -> TransportSettings.builder().heartbeatTimeout(Duration.ZERO));
  }

  @Test
  void remoteClient_masterUnreachable_isAStateExceptionNamingTheAddress() {
    int port = master.localAddress().getPort();
    master.close();
    StateException e = assertThrows(StateException.class, () -> RemoteClient.builder()
        .address("127.0.0.1", port).transport(TransportSettings.ofSecret(SECRET)).connectTimeout(Duration.ofSeconds(5)).connect());
    assertTrue(e.getMessage().contains("127.0.0.1:" + port) && e.getMessage().contains("unreachable"),
        e.getMessage());
  }

  private static boolean masterThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.isAlive() && t.getName().startsWith("buildnet-master-"));
  }
}
