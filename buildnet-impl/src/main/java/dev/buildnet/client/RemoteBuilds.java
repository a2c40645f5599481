package dev.buildnet.client;

import dev.buildnet.internal.protocol.WireEvents;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.NotStartedException;
import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.BuildCancel;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.BuildRequest;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.Event;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.Subscribe;
import dev.buildnet.internal.protocol.Payloads.Unsubscribe;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RemoteClient}'s builds and subscriptions: sends their requests and routes what the
 * master sends back (BUILD_PROGRESS, BUILD_COMPLETED, BUILD_FAILED by {@code build_id}, EVENT by
 * {@code subscription_id}) from the connection's reader thread to the event executor, so that
 * listeners never stall the connection and may call the client themselves.
 */
final class RemoteBuilds implements Transport.Connection.Handler {
  private static final Logger log = LoggerFactory.getLogger(RemoteBuilds.class);

  /** The EVENT kinds, by wire name: looked up for every event received. */

  private final RemoteClient client;
  private final Duration timeout;
  private final Executor givenExecutor;
  private final Map<String, RemoteBuild> builds = new ConcurrentHashMap<>();
  private final Map<String, RemoteSubscription> subscriptions = new ConcurrentHashMap<>();
  private final AtomicLong subscriptionIds = new AtomicLong();
  private ExecutorService ownExecutor; // created on first use, under this
  private volatile Thread eventThread;

  RemoteBuilds(RemoteClient client, Duration timeout, Executor executor) {
    this.client = client;
    this.timeout = timeout;
    this.givenExecutor = executor;
  }

  // ---- requests (caller threads) -------------------------------------------------------------

  RemoteBuild submit(String id, List<String> targets, boolean keepGoing, boolean logs,
      Consumer<BuildEvent> onEvent, Consumer<RemoteBuild.Progress> onProgress, boolean force,
      Map<String, String> env, Long timeoutMs) {
    Session c = client.connection();
    executor(); // fail now, not on the reader thread, if the client is closed
    RemoteBuild b = new RemoteBuild(this, id, targets, c, onProgress, logs);
    if (builds.putIfAbsent(id, b) != null) {
      throw new IllegalArgumentException("this client already follows a build with id '" + id + "'");
    }
    String what = "build '" + id + "' of " + targets;
    try {
      if (onEvent != null) {
        // From 1.3 the build's own event numbers (since 0), so a client that loses the
        // connection can re-attach from the last one it saw (RemoteClient.attach).
        Long since = c.minorVersion() >= 3 ? 0L : null;
        b.events = open(c, id, logs, since, onEvent, "the event subscription of " + what);
      }
      await(c.request(new BuildRequest(id, targets, null, keepGoing ? Boolean.TRUE : null,
          force ? Boolean.TRUE : null, env, timeoutMs), timeout), what, true);
      return b;
    } catch (RuntimeException e) {
      builds.remove(id, b);
      RemoteSubscription events = b.events;
      if (events != null) {
        forget(events, null, true);
        c.request(new Unsubscribe(events.id()), timeout); // its outcome does not matter
      }
      throw e;
    }
  }

  RemoteSubscription subscribe(String buildId, boolean logs, Consumer<BuildEvent> listener) {
    Session c = client.connection();
    executor();
    String what = "the event subscription to " + (buildId == null ? "every build" : "build '" + buildId + "'");
    return open(c, buildId, logs, null, listener, what);
  }

  /**
   * Re-attaches to a build this or another client submitted: a subscription from event {@code
   * since} on, whose end is the build's result (the master replays what was missed).
   */
  RemoteBuild attach(String buildId, long since, boolean logs, Consumer<BuildEvent> onEvent) {
    Session c = client.connection();
    executor();
    if (c.minorVersion() < 3) {
      throw new BuildNetException("cannot re-attach to build '" + buildId + "': the master at "
          + client.where() + " speaks protocol 1." + c.minorVersion() + "; re-attaching needs 1.3");
    }
    RemoteBuild b = new RemoteBuild(this, buildId, List.of(), c, null, logs);
    if (builds.putIfAbsent(buildId, b) != null) {
      throw new IllegalArgumentException("this client already follows a build with id '" + buildId + "'");
    }
    try {
      b.events = open(c, buildId, logs, since, onEvent == null ? e -> {} : onEvent,
          "re-attaching to build '" + buildId + "' after event " + since);
      return b;
    } catch (RuntimeException e) {
      builds.remove(buildId, b);
      throw e;
    }
  }

  private RemoteSubscription open(Session c, String buildId, boolean logs, Long since,
      Consumer<BuildEvent> listener, String what) {
    String id = "s" + subscriptionIds.incrementAndGet();
    RemoteSubscription s = new RemoteSubscription(this, id, buildId, c, listener,
        since == null ? 0 : since);
    subscriptions.put(id, s);
    try {
      await(c.request(new Subscribe(id, buildId, logs ? Boolean.TRUE : null, since), timeout), what, false);
      return s;
    } catch (RuntimeException e) {
      forget(s, e, true);
      throw e;
    }
  }

  void unsubscribe(RemoteSubscription s) {
    if (!forget(s, null, true)) {
      return; // ended already (its build ended, or the connection was lost)
    }
    if (s.connection.isOpen()) {
      try {
        await(s.connection.request(new Unsubscribe(s.id()), timeout), "unsubscribing " + s.id(), false);
      } catch (NotStartedException e) { // REFUSED: await throws no other reason
        log.debug("{}: {}", client, e.getMessage()); // NOT_FOUND: the master ended it already
      }
    }
  }

  boolean cancel(String buildId) {
    Session c = client.connection();
    try {
      await(c.request(new BuildCancel(buildId, null), timeout), "the cancel of build '" + buildId + "'", true);
      return true;
    } catch (NotStartedException e) { // REFUSED: await throws no other reason
      if (e.code().orElse(null) == ErrorCode.NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  /** The master refused {@code what}: the message names the request and the master's reason. */
  private static NotStartedException refused(String what, String master,
      RemoteErrorException e) {
    return NotStartedException.refused("the master at " + master + " refused " + what + ": "
        + e.remoteMessage() + " (" + e.code().map(Enum::name).orElse(String.valueOf(e.codeNumber()))
        + ")", e.codeNumber(), e.remoteMessage(), e);
  }

  /**
   * Waits for the reply; an ERROR reply becomes a {@link NotStartedException} with reason {@code
   * REFUSED}.
   */
  private Message await(CompletableFuture<Message> reply, String what, boolean acts) {
    String maybe = acts ? "; the master may have acted on it" : "";
    try {
      return reply.get(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RemoteErrorException remote) {
        throw refused(what, client.where(), remote);
      }
      if (cause instanceof TimeoutException) {
        throw new BuildNetException("the master at " + client.where() + " did not answer " + what
            + " within " + timeout + maybe, cause);
      }
      if (client.isClosed()) {
        throw new IllegalStateException("remote client of " + client.where() + " was closed during " + what);
      }
      throw new BuildNetException("lost the connection to the master at " + client.where()
          + " during " + what + maybe + " (" + cause.getMessage() + ")", cause);
    } catch (TimeoutException e) {
      throw new BuildNetException("the master at " + client.where() + " did not answer " + what
          + " within " + timeout + maybe, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BuildNetException("interrupted while waiting for the master at " + client.where()
          + " to answer " + what + maybe, e);
    }
  }

  // ---- from the master (the connection's reader thread) --------------------------------------

  @Override
  public void onMessage(Transport.Connection c, Message m) {
    Payload p = m.payload();
    if (p instanceof Event e) {
      RemoteSubscription s = subscriptions.get(e.subscriptionId());
      BuildEvent event = WireEvents.fromWire(e);
      if (s != null && event != null) {
        RemoteBuild b = builds.get(e.buildId());
        if (b != null && b.events == s && "target_finished".equals(e.kind()) && e.target() != null
            && e.status() != null) {
          b.statuses.put(e.target(), e.status()); // a re-attached build has no BUILD_PROGRESS
        }
        s.received(e.seq(), event);
      }
    } else if (p instanceof BuildProgress pr) {
      RemoteBuild b = builds.get(pr.buildId());
      if (b != null && pr.target() != null && pr.phase() != null) {
        b.statuses.put(pr.target(), pr.phase());
        RemoteBuild.Progress progress =
            new RemoteBuild.Progress(pr.completed(), pr.total(), pr.target(), pr.phase());
        b.progressed(progress);
        if (b.onProgress != null) {
          deliver(() -> b.onProgress.accept(progress));
        }
      }
    } else if (p instanceof BuildCompleted done && done.target() == null) {
      RemoteBuild b = builds.remove(done.buildId());
      if (b != null) {
        List<Artifact> outputs = new ArrayList<>();
        for (Output o : done.outputs() == null ? List.<Output>of() : done.outputs()) {
          outputs.add(new Artifact(o.path(), o.size(), Digest.parse(o.digest())));
        }
        finish(b, new RemoteBuildResult(true, b.buildId(), Duration.ofMillis(done.durationMs()),
            outputs, orZero(done.cacheHits()), orZero(done.executed()), null, List.of(),
            b.statuses));
      }
    } else if (p instanceof BuildFailed failed && failed.target() == null) {
      RemoteBuild b = builds.remove(failed.buildId());
      if (b != null) {
        finish(b, new RemoteBuildResult(false, b.buildId(),
            Duration.ofNanos(System.nanoTime() - b.startedNanos), List.of(), 0, 0, failed.error(),
            failed.failedTargets() == null ? List.of() : failed.failedTargets(), b.statuses));
      }
    } else if (!(p instanceof Payloads.Reply) && !(p instanceof Payloads.Heartbeat)) {
      // A request a client does not serve (STATE_GET, BLOB_GET, TARGET_RUN...) is answered, so
      // the sender need not wait for its timeout (docs/PROTOCOL.md, "Unsolicited replies"); the
      // transport acks a HEARTBEAT itself.
      Session.of(c).send(new ErrorReply(m.id(), ErrorCode.UNSUPPORTED.code(),
          "a client does not serve " + m.type(), false));
    } else {
      log.debug("{}: ignoring {} {}", client, m.type(), m.id());
    }
  }

  private void finish(RemoteBuild b, RemoteBuildResult r) {
    RemoteSubscription events = b.events;
    if (events != null && forget(events, null)) {
      // Its events all came before the result (and are queued for the listener before the end);
      // the master need not keep sending.
      events.connection.request(new Unsubscribe(events.id()), timeout);
    }
    deliver(() -> b.result.complete(r));
  }

  @Override
  public void onClose(Transport.Connection c, Throwable cause) {
    String why = client.isClosed()
        ? "the client was closed"
        : "lost the connection to the master at " + client.where()
            + (cause == null ? "" : " (" + cause.getMessage() + ")");
    for (RemoteBuild b : builds.values()) {
      if (b.connection == c && builds.remove(b.buildId(), b)) {
        BuildNetException e = new BuildNetException(why + " while following build '"
            + b.buildId() + "'; the build may still be running on the master", cause);
        deliver(() -> b.result.completeExceptionally(e));
      }
    }
    for (RemoteSubscription s : subscriptions.values()) {
      if (s.connection == c) {
        forget(s, new BuildNetException(why + "; subscription " + s.id() + " ended", cause));
      }
    }
  }

  /**
   * Removes {@code s} so no later EVENT reaches it, and marks it ended: at once when its owner
   * closes it (the listener must not run after close() returns), else after the events already
   * queued for its listener. False if it was gone already.
   */
  private boolean forget(RemoteSubscription s, Throwable cause) {
    return forget(s, cause, false);
  }

  private boolean forget(RemoteSubscription s, Throwable cause, boolean now) {
    if (!subscriptions.remove(s.id(), s)) {
      return false;
    }
    if (now) {
      s.end(cause);
    } else {
      deliver(() -> s.end(cause));
    }
    return true;
  }

  // ---- the event executor --------------------------------------------------------------------

  void deliver(Runnable task) {
    Runnable guarded = () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.warn("{}: a build listener failed", client, e);
      }
    };
    try {
      executor().execute(guarded);
    } catch (RejectedExecutionException | IllegalStateException e) {
      guarded.run(); // closing: completing futures matters more than the thread they run on
    }
  }

  private synchronized Executor executor() {
    if (givenExecutor != null) {
      return givenExecutor;
    }
    if (ownExecutor == null) {
      if (client.isClosed()) {
        throw new IllegalStateException("remote client of " + client.where() + " is closed");
      }
      ownExecutor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "buildnet-client-events-" + client.clientId());
        t.setDaemon(true);
        eventThread = t;
        return t;
      });
    }
    return ownExecutor;
  }

  /** After the transport closed: lets queued deliveries finish, for a bounded time. */
  void close() {
    ExecutorService own;
    synchronized (this) {
      own = ownExecutor;
    }
    if (own != null) {
      own.shutdown();
      if (Thread.currentThread() == eventThread) {
        return; // a listener closed the client: it cannot wait for itself
      }
      try {
        if (!own.awaitTermination(5, TimeUnit.SECONDS)) {
          own.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static long orZero(Long n) {
    return n == null ? 0 : n;
  }
}
