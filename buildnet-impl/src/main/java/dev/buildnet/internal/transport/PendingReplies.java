package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One session's requests that wait for their replies, by request id: the reply matching that the
 * TCP connection ({@link PeerConnection}) and a session over a host's transport ({@link
 * FramedSession}) share.
 *
 * <p>Timeouts: a request registered with a deadline fails with its timeout exception if no reply
 * came by then. One sweep per session is armed, at the earliest deadline it must cover; a request
 * whose deadline is later than the armed sweep's arms nothing (at thousands of requests a second
 * all with the same timeout, that is nearly all of them), and each sweep fails what is due and
 * arms the next at the earliest deadline left. A scheduled timer per request cost a queue insert,
 * a removal on the reply and a completion stage each.
 */
final class PendingReplies {
  /** Schedules a sweep; throws {@link RejectedExecutionException} once the timer has shut down. */
  interface Timer {
    Future<?> schedule(Runnable task, long delayNanos);
  }

  /** A waiting request: its future, and where the non-last BLOB_CHUNKs of a stream go. */
  static final class Pending {
    private final CompletableFuture<Message> future;
    private final Consumer<Message> partial;
    private final long deadline; // System.nanoTime() by which a reply is due
    private final Supplier<? extends Throwable> timeout; // null: no deadline

    private Pending(CompletableFuture<Message> future, Consumer<Message> partial, long deadline,
        Supplier<? extends Throwable> timeout) {
      this.future = future;
      this.partial = partial;
      this.deadline = deadline;
      this.timeout = timeout;
    }
  }

  /** The armed sweep: when it runs, and its future (to cancel it when an earlier one replaces it). */
  private record Armed(long at, Future<?> future) {}

  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final Object arming = new Object();
  /**
   * The sweep that will run, or null. Cleared as a sweep starts, before it looks at the requests,
   * so a request that still sees it armed is seen by that sweep (or an earlier one).
   */
  private volatile Armed armed;

  /** Registers request {@code id}, answered through {@code future} (and {@code partial}). */
  Pending register(String id, CompletableFuture<Message> future, Consumer<Message> partial) {
    Pending p = new Pending(future, partial, 0, null);
    pending.put(id, p);
    return p;
  }

  /**
   * As above, and fails it with what {@code timeout} makes if no reply came within {@code
   * timeoutNanos}, by a sweep on {@code timer}.
   */
  Pending register(String id, CompletableFuture<Message> future, Consumer<Message> partial,
      long timeoutNanos, Supplier<? extends Throwable> timeout, Timer timer) {
    long deadline = System.nanoTime() + timeoutNanos;
    Pending p = new Pending(future, partial, deadline, timeout);
    pending.put(id, p);
    Armed a = armed;
    if (a == null || deadline - a.at < 0) {
      arm(deadline, timer);
    }
    return p;
  }

  /** Makes sure a sweep runs by {@code deadline}. */
  private void arm(long deadline, Timer timer) {
    synchronized (arming) {
      Armed a = armed;
      if (a != null && deadline - a.at >= 0) {
        return; // armed meanwhile, early enough
      }
      try {
        Future<?> f = timer.schedule(() -> sweep(timer), Math.max(0, deadline - System.nanoTime()));
        if (a != null) {
          a.future.cancel(false);
        }
        armed = new Armed(deadline, f);
        return;
      } catch (RejectedExecutionException e) {
        armed = null;
      }
    }
    // The timer is gone (closing): no deadline can be kept, so they expire now, as a timer that
    // could not be scheduled did before. Outside the lock: failing runs the requests' callbacks.
    expireAll();
  }

  /** Fails the requests that are due and arms the next sweep for the rest. On the timer. */
  private void sweep(Timer timer) {
    synchronized (arming) {
      armed = null;
    }
    long now = System.nanoTime();
    boolean any = false;
    long next = 0;
    for (Map.Entry<String, Pending> e : pending.entrySet()) {
      Pending p = e.getValue();
      if (p.timeout == null) {
        continue;
      }
      if (p.deadline - now <= 0) {
        fail(e.getKey(), p, p.timeout);
      } else if (!any || p.deadline - next < 0) {
        any = true;
        next = p.deadline;
      }
    }
    if (any) {
      arm(next, timer);
    }
  }

  private void expireAll() {
    for (Map.Entry<String, Pending> e : pending.entrySet()) {
      if (e.getValue().timeout != null) {
        fail(e.getKey(), e.getValue(), e.getValue().timeout);
      }
    }
  }

  /**
   * Fails request {@code id} with what {@code failure} makes, if {@code p} still waits for it (no
   * reply, timeout or close got there first); the failure is made only then.
   */
  boolean fail(String id, Pending p, Supplier<? extends Throwable> failure) {
    if (pending.remove(id, p)) {
      p.future.completeExceptionally(failure.get());
      return true;
    }
    return false;
  }

  /**
   * Hands {@code m}, a reply to {@code replyTo}, to the request waiting for it: a stream's
   * non-last chunk to its {@code partial}, anything else completes it (an ERROR exceptionally).
   *
   * @return false if no request waits for it (it was answered, timed out or was never made)
   */
  boolean offer(String replyTo, Message m) {
    Pending waiting = pending.get(replyTo);
    if (waiting == null) {
      return false;
    }
    if (m.payload() instanceof Payloads.BlobChunk c && !c.last() && waiting.partial != null) {
      waiting.partial.accept(m);
      return true;
    }
    pending.remove(replyTo, waiting);
    if (m.payload() instanceof ErrorReply e) {
      waiting.future.completeExceptionally(new RemoteErrorException(e));
    } else {
      waiting.future.complete(m);
    }
    return true;
  }

  /** Fails every waiting request with {@code e} (the session closed), and disarms the sweep. */
  void failAll(Throwable e) {
    pending.values().forEach(p -> p.future.completeExceptionally(e));
    pending.clear();
    synchronized (arming) {
      Armed a = armed;
      armed = null;
      if (a != null) {
        a.future.cancel(false);
      }
    }
  }
}
