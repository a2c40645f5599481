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
    CompletableFuture<Message> answered = request("answered", SHORT);
    Message reply = ackOf("answered");
    assertTrue(pending.offer("answered", reply));
    CompletableFuture<Message> other = request("other", SHORT);

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
    CompletableFuture<Message> a = request("a", HOUR);
    CompletableFuture<Message> b = request("b", SHORT);
    IllegalStateException closed = new IllegalStateException("closed");
    pending.failAll(closed);
    assertSame(closed, failureOf(a));
    assertSame(closed, failureOf(b));
    // Armed afresh by the next request, at its own deadline.
    int before = scheduled.get();
    request("c", HOUR);
    assertEquals(before + 1, scheduled.get());
  }
}
