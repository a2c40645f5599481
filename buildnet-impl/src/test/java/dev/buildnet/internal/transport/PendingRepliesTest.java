package dev.buildnet.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Reply deadlines kept by one sweep per session rather than a timer per request. */
class PendingRepliesTest {
  private static final long HOUR = TimeUnit.HOURS.toNanos(1);
  private static final long SHORT = TimeUnit.MILLISECONDS.toNanos(20);

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final AtomicInteger scheduled = new AtomicInteger();
  private final PendingReplies.Timer timer = (task, nanos) -> {
    scheduled.incrementAndGet();
    return scheduler.schedule(task, nanos, TimeUnit.NANOSECONDS);
  };
  /** Keeps each sweep for the test to run: no deadline passes on a scheduler thread's clock. */
  private final List<Runnable> sweeps = new ArrayList<>();
  private final PendingReplies.Timer manual = (task, nanos) -> {
    scheduled.incrementAndGet();
    sweeps.add(task);
    return new CompletableFuture<Void>();
  };
  private final PendingReplies pending = new PendingReplies();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  private CompletableFuture<Message> request(String id, long timeoutNanos) {
    CompletableFuture<Message> f = new CompletableFuture<>();
    pending.register(id, f, null, timeoutNanos, () -> new TimeoutException("no reply to " + id),
        timer);
    return f;
  }

  private static Message ackOf(String id) {
    return new Message(Protocol.MAJOR, MessageType.HEARTBEAT_ACK, "r-" + id, 0, Protocol.RUNTIME,
        new Payloads.HeartbeatAck(id));
  }

  private static Throwable failureOf(CompletableFuture<Message> f) {
    return assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS)).getCause();
  }

  @Test
  void requestsWithTheSameTimeoutShareOneArmedSweep() {
    for (int i = 0; i < 100; i++) {
      request("r" + i, HOUR);
    }
    assertEquals(1, scheduled.get()); // each later deadline is covered by the first one's sweep
  }

  @Test
  void anEarlierDeadlineAfterALaterOneStillExpiresOnTime_andTheLaterOneStaysWaiting()
      throws Exception {
    CompletableFuture<Message> late = request("late", HOUR);
    CompletableFuture<Message> early = request("early", SHORT);

    Throwable e = failureOf(early);
    assertInstanceOf(TimeoutException.class, e);
    assertEquals("no reply to early", e.getMessage());
    assertFalse(late.isDone());

    // The sweep that expired "early" armed the next one for "late": another short request
    // registered now still gets its own earlier sweep.
    CompletableFuture<Message> again = request("again", SHORT);
    assertInstanceOf(TimeoutException.class, failureOf(again));

    Message reply = ackOf("late");
    assertTrue(pending.offer("late", reply));
    assertSame(reply, late.get(60, TimeUnit.SECONDS));
  }

  @Test
  void anAnsweredRequestIsNotExpiredByTheSweep() throws Exception {
    // The sweep runs when the test says so (the manual timer): with a real 20 ms timer a
    // descheduled test thread could see "answered" expire before it offered the reply.
    long start = System.nanoTime();
    CompletableFuture<Message> answered = new CompletableFuture<>();
    pending.register("answered", answered, null, SHORT,
        () -> new TimeoutException("no reply to answered"), manual);
    Message reply = ackOf("answered");
    assertTrue(pending.offer("answered", reply));
    CompletableFuture<Message> other = new CompletableFuture<>();
    pending.register("other", other, null, SHORT, () -> new TimeoutException("no reply to other"),
        manual);

    while (System.nanoTime() - start <= 2 * SHORT) { // both deadlines behind us
      Thread.onSpinWait();
    }
    for (int i = 0; i < sweeps.size(); i++) { // a sweep may arm another
      sweeps.get(i).run();
    }
    assertInstanceOf(TimeoutException.class, failureOf(other)); // the sweep ran past both deadlines
    assertSame(reply, answered.get());
    assertFalse(pending.offer("answered", reply)); // gone: a late duplicate finds nothing
  }

  @Test
  void aTimerThatRefusesTheSweepExpiresTheRequestsAtOnce() {
    PendingReplies.Timer closed = (task, nanos) -> {
      throw new RejectedExecutionException("timer shut down");
    };
    CompletableFuture<Message> f = new CompletableFuture<>();
    pending.register("x", f, null, HOUR, () -> new TimeoutException("no reply to x"), closed);
    assertTrue(f.isCompletedExceptionally());
    assertInstanceOf(TimeoutException.class, failureOf(f));
  }

  @Test
  void failAllFailsEveryRequestAndDisarmsTheSweep() {
    // On the manual timer, so that "b" cannot expire on its own before failAll.
    CompletableFuture<Message> a = new CompletableFuture<>();
    pending.register("a", a, null, HOUR, () -> new TimeoutException("no reply to a"), manual);
    CompletableFuture<Message> b = new CompletableFuture<>();
    pending.register("b", b, null, SHORT, () -> new TimeoutException("no reply to b"), manual);
    IllegalStateException closed = new IllegalStateException("closed");
    pending.failAll(closed);
    assertSame(closed, failureOf(a));
    assertSame(closed, failureOf(b));
    // Armed afresh by the next request, at its own deadline.
    int before = scheduled.get();
    pending.register("c", new CompletableFuture<>(), null, HOUR,
        () -> new TimeoutException("no reply to c"), manual);
    assertEquals(before + 1, scheduled.get());
  }
}
