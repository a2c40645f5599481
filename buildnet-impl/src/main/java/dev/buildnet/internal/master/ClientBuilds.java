package dev.buildnet.internal.master;

import dev.buildnet.internal.protocol.WireEvents;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.Ack;
import dev.buildnet.internal.protocol.Payloads.BuildCancel;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.protocol.Payloads.BuildStarted;
import dev.buildnet.internal.protocol.Payloads.Event;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.Subscribe;
import dev.buildnet.internal.protocol.Payloads.Unsubscribe;
import dev.buildnet.internal.transport.Session;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's client builds and event subscriptions (BUILD_REQUEST, BUILD_CANCEL, SUBSCRIBE,
 * UNSUBSCRIBE), served from a {@link BuildService}.
 *
 * <p>Requests arrive on the connection's reader thread; build events arrive on whichever engine
 * thread reported them, under the {@link BuildHistory}'s lock, so nothing here blocks: every
 * message goes out through the connection's non-blocking send. Replies come first: what the
 * history reports before BUILD_STARTED (or a SUBSCRIBE's ACK) is held back until it is sent.
 */
final class ClientBuilds {
  private static final Logger log = LoggerFactory.getLogger(ClientBuilds.class);

  /**
   * EVENTs of one subscription queued but not yet written; beyond it events are dropped (a
   * {@code seq} gap) rather than letting a slow subscriber exhaust the connection's queue bound.
   */
  static final int MAX_UNSENT_EVENTS = 10_000;

  private final BuildService builds;
  private final Session connection;
  private final boolean worker;
  private final int maxUnsentEvents;
  private final Map<String, EventStream> subscriptions = new ConcurrentHashMap<>();
  private final Set<Followed> followed = ConcurrentHashMap.newKeySet();
  /** Builds submitted on this connection: a re-attach here need not repeat their final message. */
  private final Set<String> submittedHere = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  ClientBuilds(BuildService builds, Session connection, boolean worker, int maxUnsentEvents) {
    this.builds = builds;
    this.connection = connection;
    this.worker = worker;
    this.maxUnsentEvents = maxUnsentEvents;
  }

  static boolean serves(Payload p) {
    return p instanceof BuildRequest || p instanceof BuildCancel || p instanceof Subscribe
        || p instanceof Unsubscribe;
  }

  /** Serves one request; a refusal is thrown as {@link RequestError}. */
  void handle(Message m) {
    if (worker) {
      throw new RequestError(ErrorCode.UNSUPPORTED, m.type() + " is for clients: '"
          + connection.peerId() + "' connected as a worker (workers run targets, they do not"
          + " submit, cancel or watch builds); connect with role client");
    }
    Payload p = m.payload();
    if (p instanceof BuildRequest r) {
      submit(m, r);
    } else if (p instanceof BuildCancel c) {
      if (!builds.cancel(c.buildId())) {
        throw new RequestError(ErrorCode.NOT_FOUND,
            "no build '" + c.buildId() + "' is running on this master");
      }
      connection.send(new Ack(m.id()));
    } else if (p instanceof Subscribe s) {
      subscribe(m, s);
    } else if (p instanceof Unsubscribe u) {
      EventStream stream = subscriptions.remove(u.subscriptionId());
      if (stream == null) {
        throw new RequestError(ErrorCode.NOT_FOUND,
            "no subscription '" + u.subscriptionId() + "' is open on this connection");
      }
      stream.close();
      connection.send(new Ack(m.id()));
    }
  }

  /** {@code host:port} of a remote address (IPv6 in brackets), or null if unknown. */
  static String address(java.net.InetSocketAddress a) {
    if (a == null) {
      return null;
    }
    String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** The connection ended: its subscriptions end; its builds keep running, unwatched. */
  void close() {
    closed = true;
    subscriptions.values().forEach(EventStream::close);
    subscriptions.clear();
    followed.forEach(Followed::close);
  }

  // ---- builds --------------------------------------------------------------------------------

  private void submit(Message m, BuildRequest r) {
    if (r.attempt() != null) {
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, "a client's BUILD_REQUEST must not carry"
          + " 'attempt' (the master sends single attempts to workers as TARGET_RUN)");
    }
    if (r.env() != null) {
      r.env().forEach((name, value) -> {
        if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0 || value.indexOf('\0') >= 0) {
          throw new RequestError(ErrorCode.INVALID_PAYLOAD, "env variable '" + name + "' is not"
              + " usable: names must be non-empty without '=' or NUL, values without NUL");
        }
      });
    }
    BuildService.Options options = new BuildService.Options(Boolean.TRUE.equals(r.keepGoing()),
        Boolean.TRUE.equals(r.force()), r.env(),
        r.timeoutMs() == null ? null : java.time.Duration.ofMillis(r.timeoutMs()));
    String id = r.buildId();
    BuildHistory history = builds.history();
    if (history.build(id).isPresent()) {
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, "build id '" + id + "' is already used"
          + " on this master; choose a fresh one (e.g. a random UUID)");
    }
    Followed f = new Followed(id, history);
    // Subscribed before submitting, so no event of the build can be missed.
    f.subscription = history.subscribe(id, false, false, f::onEvent);
    CompletableFuture<BuildResult> result;
    try {
      result = builds.submit(id, r.targets(), options,
          BuildOrigin.client(connection.peerId(), address(connection.remoteAddress())));
    } catch (UnsupportedOperationException e) {
      f.close();
      throw new RequestError(ErrorCode.UNSUPPORTED, e.getMessage());
    } catch (IllegalArgumentException e) {
      f.close();
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, e.getMessage());
    } catch (InvalidGraphException e) {
      f.close();
      if (e.reason() != InvalidGraphException.Reason.UNKNOWN_TARGET) {
        throw e;
      }
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, e.getMessage());
    } catch (IllegalStateException e) {
      f.close();
      throw new RequestError(ErrorCode.BUSY, e.getMessage());
    } catch (RuntimeException e) {
      f.close();
      throw e;
    }
    followed.add(f);
    submittedHere.add(id);
    f.started(m.id());
    result.whenComplete(f::finish);
    if (closed) {
      f.close(); // the connection closed while we submitted: close() may have missed it
    }
  }

  /** One build submitted on this connection: its progress and final message. */
  private final class Followed {
    private final String buildId;
    private final BuildHistory history;
    private final Set<String> reported = new HashSet<>();
    private List<Payload> early = new ArrayList<>(); // null once BUILD_STARTED is sent
    private volatile BuildHistory.Subscription subscription;
    private int total = -1;
    private int completed;
    private boolean done;

    Followed(String buildId, BuildHistory history) {
      this.buildId = buildId;
      this.history = history;
    }

    /** On the reporting engine thread, under the history's lock. */
    void onEvent(BuildEvent e) {
      if (e.kind() == BuildEvent.Kind.BUILD_STARTED) {
        // The history's lock is held by this thread already; one snapshot per build.
        int n = history.build(buildId).map(s -> s.targets().size()).orElse(0);
        synchronized (this) {
          total = n;
        }
      } else if (e instanceof BuildEvent.TargetFinished f) {
        progress(f.target(), f.status().wireName());
      }
    }

    synchronized void progress(String target, String status) {
      if (done || !reported.add(target)) {
        return;
      }
      completed++;
      emit(new BuildProgress(buildId, completed, Math.max(total, completed), target, status, null));
    }

    synchronized void started(String replyTo) {
      connection.send(new BuildStarted(replyTo, buildId, null, null, null));
      List<Payload> held = early;
      early = null;
      held.forEach(connection::send);
    }

    void finish(BuildResult r, Throwable t) {
      synchronized (this) {
        if (done) {
          return;
        }
        if (r != null) {
          // A target's event may still be on its way when the result is in (the engine reports
          // outside its lock): report every target from the result so none is missing.
          for (TargetOutcome o : r.targets()) {
            progress(o.target(), o.status().wireName());
          }
        }
        done = true;
        emit(r != null ? finalMessage(r) : new BuildFailed(buildId, null, null,
            "the master failed while building: " + unwrap(t), null, null, List.of()));
      }
      close();
    }

    private void emit(Payload p) {
      if (closed) {
        return;
      }
      if (early != null) {
        early.add(p);
      } else {
        connection.send(p);
      }
    }

    private Payload finalMessage(BuildResult r) {
      return ClientBuilds.finalMessage(buildId, r);
    }

    void close() {
      followed.remove(this);
      BuildHistory.Subscription s = subscription;
      if (s != null) {
        s.close();
      }
    }
  }

  /** BUILD_COMPLETED or BUILD_FAILED for a finished build, as its submitter gets it. */
  static Payload finalMessage(String buildId, BuildResult r) {
    if (r.success()) {
      List<Output> outputs = new ArrayList<>(r.artifacts().size());
      r.artifacts().forEach(a -> outputs.add(new Output(a.path(), a.digest().toString(), a.sizeBytes(), null)));
      return new BuildCompleted(buildId, null, null, r.duration().toMillis(), outputs,
          r.count(TargetOutcome.Status.CACHED), r.count(TargetOutcome.Status.BUILT));
    }
    List<String> failed = new ArrayList<>();
    TargetOutcome first = null;
    for (TargetOutcome o : r.targets()) {
      if (o.status() == TargetOutcome.Status.FAILED) {
        failed.add(o.target());
        first = first == null ? o : first;
      }
    }
    String error;
    if (first != null) {
      error = "target '" + first.target() + "' failed: " + first.reason();
    } else if (r.count(TargetOutcome.Status.CANCELLED) > 0) {
      error = "build '" + buildId + "' was cancelled";
    } else if (!r.errors().isEmpty()) {
      error = r.errors().get(0).toString();
    } else {
      error = "build '" + buildId + "' failed";
    }
    // exit_code only when a command failed: a target whose command exited 0 but whose outputs
    // failed their checks has no failing exit code to report (0 would say "it succeeded"), and
    // one killed at its timeout has only the kill's status (143 here), which a worker's
    // BUILD_FAILED leaves out: the same build reports the same wherever the target ran.
    Long exit = first != null && first.exitCode() > 0 && !timedOut(first)
        ? (long) first.exitCode() : null;
    return new BuildFailed(buildId, null, null, error, exit, null, failed);
  }

  private static boolean timedOut(TargetOutcome o) {
    return o.errors().stream().anyMatch(e -> e.code().equals("TIMEOUT"));
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  // ---- events --------------------------------------------------------------------------------

  private void subscribe(Message m, Subscribe s) {
    String id = s.subscriptionId();
    EventStream stream = new EventStream(id, s.since() == null ? null : s.buildId());
    if (subscriptions.putIfAbsent(id, stream) != null) {
      throw new RequestError(ErrorCode.INVALID_PAYLOAD,
          "subscription '" + id + "' is already open on this connection");
    }
    try {
      boolean logs = Boolean.TRUE.equals(s.logs());
      if (s.since() == null) {
        stream.attach(builds.history().subscribe(s.buildId(), logs, true, stream::offer));
      } else {
        // A re-attach: the build's own event numbers, a replay from the buffer, then its result.
        BuildHistory.Subscription attached = builds.history()
            .attach(s.buildId(), logs, s.since(), stream::offerNumbered)
            .orElseThrow(() -> new RequestError(ErrorCode.NOT_FOUND, "build '" + s.buildId()
                + "' is not known to this master (any more): there is nothing to re-attach to"
                + " after event " + s.since()));
        stream.attach(attached);
        stream.finishIfEnded(); // it ended before: the client may have missed only its result
      }
    } catch (RuntimeException e) {
      subscriptions.remove(id, stream);
      throw e;
    }
    stream.acked(m.id());
    if (closed) {
      stream.close();
    }
  }

  /**
   * One subscription's EVENT stream, bounded in unsent events: numbered from 1 per subscription,
   * or, for a re-attach ({@code reattached} the build), by the build's own event numbers and
   * followed by the build's final message.
   */
  private final class EventStream {
    private final String id;
    private final String reattached;
    private final AtomicInteger unsent = new AtomicInteger();
    private List<Payload> early = new ArrayList<>(); // null once the ACK is sent
    private BuildHistory.Subscription subscription;
    private long seq;
    private long dropped;
    private boolean ended;
    private boolean finalSent;

    EventStream(String id, String reattached) {
      this.id = id;
      this.reattached = reattached;
    }

    /** On the reporting thread, under the history's lock: must not block. */
    synchronized void offer(BuildEvent e) {
      offer(++seq, e);
    }

    /** A re-attach's event with its number in the build; under the history's lock. */
    void offerNumbered(long n, BuildEvent e) {
      synchronized (this) {
        offer(n, e);
      }
      if (e.kind() == BuildEvent.Kind.BUILD_FINISHED) {
        finishIfEnded();
      }
    }

    /**
     * Sends a re-attached build's final message once it has ended (its result is recorded before
     * build_finished is published), unless this connection submitted it and gets it anyway.
     */
    void finishIfEnded() {
      // The history's lock before this stream's, as on the reporting thread: no lock-order cycle.
      BuildResult r = builds.history().build(reattached).map(b -> b.result()).orElse(null);
      if (r == null) {
        return;
      }
      synchronized (this) {
        if (ended || finalSent || submittedHere.contains(reattached)) {
          return;
        }
        finalSent = true;
        unsent.incrementAndGet();
        Payload last = finalMessage(reattached, r);
        if (early != null) {
          early.add(last);
        } else {
          send(last);
        }
      }
    }

    private void offer(long n, BuildEvent e) {
      Event event = WireEvents.toWire(id, n, e);
      if (ended || event == null) {
        return; // worker events have no EVENT kind
      }
      if (unsent.get() >= maxUnsentEvents) {
        if (dropped++ == 0) {
          log.warn("{}: subscription '{}' is too slow; dropping events ({} unsent)",
              connection, id, maxUnsentEvents);
        }
        return;
      }
      unsent.incrementAndGet();
      if (early != null) {
        early.add(event);
      } else {
        send(event);
      }
    }

    private void send(Payload p) {
      connection.send(p).whenComplete((ok, t) -> unsent.decrementAndGet());
    }

    synchronized void acked(String replyTo) {
      connection.send(new Ack(replyTo));
      List<Payload> held = early;
      early = null;
      if (held != null) {
        held.forEach(this::send);
      }
    }

    void attach(BuildHistory.Subscription s) {
      boolean endNow;
      synchronized (this) {
        subscription = s;
        endNow = ended;
      }
      if (endNow) {
        s.close();
      }
    }

    /** After this returns no EVENT of this subscription is sent. */
    void close() {
      BuildHistory.Subscription s;
      synchronized (this) {
        ended = true;
        early = null;
        s = subscription;
      }
      if (s != null) {
        s.close();
      }
    }
  }
}
