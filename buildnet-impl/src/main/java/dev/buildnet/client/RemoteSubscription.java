package dev.buildnet.client;


import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.transport.Session;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A stream of a master's build events, from {@link RemoteClient#subscribe}: the master first
 * replays what it remembers (the kept builds, their started and finished targets), then sends
 * every later event.
 *
 * <h2>Threads</h2>
 *
 * The listener runs on the client's event executor, one event at a time, in the master's order;
 * it must not block for long. After {@link #close()} returns, the listener is not called again.
 *
 * <h2>Gaps</h2>
 *
 * A master drops events for a subscriber that does not keep up; {@link #dropped()} counts them
 * (from the gaps in the events' sequence numbers).
 *
 * @since 0.1
 */
public final class RemoteSubscription implements AutoCloseable {
  private final RemoteBuilds owner;
  private final String id;
  private final String buildId;
  final Session connection;
  private final Consumer<BuildEvent> listener;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final AtomicBoolean closing = new AtomicBoolean();
  private volatile boolean silenced;
  private volatile long dropped;
  private volatile long lastSeq; // written on the reader thread only

  RemoteSubscription(RemoteBuilds owner, String id, String buildId, Session connection,
      Consumer<BuildEvent> listener, long since) {
    this.owner = owner;
    this.id = id;
    this.buildId = buildId;
    this.connection = connection;
    this.listener = listener;
    this.lastSeq = since;
  }

  /** The highest event number received (for a build's events: its number in the build). */
  long lastSeq() {
    return lastSeq;
  }

  /** The subscription's id on the connection. */
  public String id() {
    return id;
  }

  /** The build watched, or null for every build. */
  public String buildId() {
    return buildId;
  }

  /** Events the master dropped so far because this subscriber was too slow. */
  public long dropped() {
    return dropped;
  }

  /**
   * Completes when the subscription ends: normally after {@link #close()} (or, for a build's
   * events, after the build's result arrived), exceptionally when the connection was lost.
   */
  public CompletableFuture<Void> ended() {
    return ended.copy();
  }

  /** On the reader thread: counts gaps, then hands the event to the listener. */
  void received(long seq, BuildEvent event) {
    if (seq > lastSeq + 1) {
      dropped += seq - lastSeq - 1;
    }
    lastSeq = Math.max(lastSeq, seq);
    owner.deliver(() -> {
      if (!silenced) {
        listener.accept(event);
      }
    });
  }

  /** Marks the end; the listener is called no more. */
  void end(Throwable cause) {
    silenced = true;
    if (cause == null) {
      ended.complete(null);
    } else {
      ended.completeExceptionally(cause);
    }
  }

  /**
   * Ends the subscription: sends UNSUBSCRIBE and waits for the master's ACK (one round trip, at
   * most the request timeout), unless the connection is gone already. Idempotent.
   */
  @Override
  public void close() {
    if (closing.compareAndSet(false, true)) {
      owner.unsubscribe(this);
    }
  }

  @Override
  public String toString() {
    return "RemoteSubscription[" + id + (buildId == null ? ", every build" : ", build " + buildId)
        + (ended.isDone() ? ", ended]" : "]");
  }
}
