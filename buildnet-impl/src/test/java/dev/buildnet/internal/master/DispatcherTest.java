package dev.buildnet.internal.master;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildStarted;
import dev.buildnet.internal.protocol.Payloads.ResourceClaim;
import dev.buildnet.internal.protocol.Payloads.ResourceRelease;
import dev.buildnet.internal.protocol.Payloads.ResourceStatus;
import dev.buildnet.internal.protocol.Payloads.TargetCancel;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The master's dispatcher against a hand-driven worker connection over a real socket. */
class DispatcherTest {
  private static final byte[] SECRET = "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);

  private final StateBackend state = StateBackend.inMemory();
  private final MasterServer master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).start();
  private final TcpTransport transport = TcpTransport.builder().transport(TransportSettings.ofSecret(SECRET)).localId("fake")
      .asWorker(List.of("remote"), 2, 512).build();
  private final LinkedBlockingQueue<Message> received = new LinkedBlockingQueue<>();

  @AfterEach
  void close() {
    transport.close();
    master.close();
    state.close();
  }

  private PeerConnection connectFakeWorker() throws Exception {
    Transport.Connection c = transport.connect(master.localAddress(), Duration.ofSeconds(10),
        new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection connection, Message m) {
            received.add(m);
          }

          @Override
          public void onClose(Transport.Connection connection, Throwable cause) {}
        });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (master.workers().isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "the fake worker never registered");
      Thread.sleep(5); // polling the registry with a bound
    }
    return PeerConnection.of(c);
  }

  private static TargetRun run(String target, long attempt) {
    return new TargetRun("b1", target, attempt, List.of("true"), "", Map.of(), List.of(), List.of(),
        null, null);
  }

  private Message next(Class<?> type) throws InterruptedException {
    Message m = received.poll(10, TimeUnit.SECONDS);
    assertInstanceOf(type, m == null ? null : m.payload(), String.valueOf(m));
    return m;
  }

  @Test
  void aResultOfAnAttemptNotInFlightIsRejectedAndTheCurrentOneCounts() throws Exception {
    PeerConnection worker = connectFakeWorker();
    Dispatcher d = master.dispatcher();
    Dispatcher.Placement p = d.tryPlace(Set.of("remote"), 1, 0, Set.of()).orElseThrow();
    CompletableFuture<Dispatcher.Result> result = p.run(run("t", 2), progress -> {});
    Message sent = next(TargetRun.class);
    worker.send(new BuildStarted(sent.id(), "b1", "t", 2L, "fake"));

    // attempt 1 was superseded by attempt 2: its late result must not count
    worker.send(new BuildCompleted("b1", "t", 1L, 5, List.of(), null, null));
    worker.send(new BuildCompleted("b1", "other", 2L, 5, List.of(), null, null));
    worker.send(new BuildCompleted("b1", "t", 2L, 7, List.of(), null, null));
    Dispatcher.Result r = result.get(10, TimeUnit.SECONDS);
    assertTrue(r.succeeded());
    assertEquals(7, r.completed().durationMs());
    assertEquals(2, d.rejectedResults());
    assertEquals(0, d.inFlight());

    // a repeat of the accepted result is late too
    worker.send(new BuildCompleted("b1", "t", 2L, 7, List.of(), null, null));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (d.rejectedResults() < 3) {
      assertTrue(System.nanoTime() < deadline, "the repeated result was not rejected");
      Thread.sleep(5); // the rejection happens on the master's reader thread
    }
    p.release();
  }

  @Test
  void placementsClaimTheWorkersSlotsAndCancelSendsTargetCancel() throws Exception {
    connectFakeWorker();
    Dispatcher d = master.dispatcher();
    assertTrue(d.couldRun(Set.of("remote"), 2, 512));
    assertFalse(d.couldRun(Set.of("gpu"), 1, 0));
    assertFalse(d.couldRun(Set.of("remote"), 3, 0));
    Dispatcher.Placement a = d.tryPlace(Set.of("remote"), 1, 100, Set.of()).orElseThrow();
    Dispatcher.Placement b = d.tryPlace(Set.of("remote"), 1, 100, Set.of()).orElseThrow();
    assertTrue(d.tryPlace(Set.of("remote"), 1, 0, Set.of()).isEmpty(), "both slots are claimed");
    assertFalse(d.hasFreeSlot(Set.of()));
    assertEquals(2, master.workers().get(0).claimedCpuSlots());
    b.release();
    b.release();
    assertTrue(d.hasFreeSlot(Set.of()));
    assertTrue(d.tryPlace(Set.of("remote"), 1, 0, Set.of("fake")).isEmpty(), "excluded");

    a.run(run("t", 1), progress -> {});
    Message sent = next(TargetRun.class);
    a.cancel("stop");
    TargetCancel cancel = (TargetCancel) next(TargetCancel.class).payload();
    assertEquals("t", cancel.target());
    assertEquals(1, cancel.attempt());
    assertEquals("b1", ((TargetRun) sent.payload()).buildId());
    a.release();
  }

  @Test
  void aDrainingWorkerGetsNoNewAttempts() throws Exception {
    connectFakeWorker();
    Dispatcher d = master.dispatcher();
    assertFalse(d.drain("nobody"));
    assertTrue(d.drain("fake"));
    assertTrue(d.tryPlace(Set.of("remote"), 1, 0, Set.of()).isEmpty());
    assertFalse(d.couldRun(Set.of("remote"), 1, 0));
    assertFalse(d.hasFreeSlot(Set.of()));
  }

  @Test
  void aWorkersResourceReleaseTellsTheEngineThatCapacityFreed() throws Exception {
    // docs/PROTOCOL.md, "Placement": what a worker claimed is subtracted from what it offers, so
    // its RESOURCE_RELEASE must wake targets waiting for that capacity. Before, nothing did:
    // a waiting target sat beside the idle worker until its placement timeout.
    PeerConnection worker = connectFakeWorker();
    Dispatcher d = master.dispatcher();
    Message claimed = worker.request(new ResourceClaim("all", 2, 0), Duration.ofSeconds(10))
        .get(10, TimeUnit.SECONDS);
    assertEquals(0, ((ResourceStatus) claimed.payload()).cpuSlotsFree());
    assertTrue(d.tryPlace(Set.of("remote"), 1, 0, Set.of()).isEmpty(), "every slot is claimed");
    CountDownLatch changed = new CountDownLatch(1);
    d.onChange(changed::countDown);

    Message released = worker.request(new ResourceRelease("all"), Duration.ofSeconds(10))
        .get(10, TimeUnit.SECONDS);
    assertEquals(2, ((ResourceStatus) released.payload()).cpuSlotsFree());
    assertTrue(changed.await(10, TimeUnit.SECONDS), "no change was signalled after the release");
    d.tryPlace(Set.of("remote"), 1, 0, Set.of()).orElseThrow().release();
  }

  @Test
  void attemptsOfAWorkerThatDisconnectsFailAsLost() throws Exception {
    PeerConnection worker = connectFakeWorker();
    Dispatcher d = master.dispatcher();
    Dispatcher.Placement p = d.tryPlace(Set.of("remote"), 1, 0, Set.of()).orElseThrow();
    CompletableFuture<Dispatcher.Result> result = p.run(run("t", 1), progress -> {});
    next(TargetRun.class);
    worker.close();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> result.get(10, TimeUnit.SECONDS));
    assertInstanceOf(Dispatcher.WorkerLostException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("fake"), e.getCause().getMessage());
    p.release();
  }
}
