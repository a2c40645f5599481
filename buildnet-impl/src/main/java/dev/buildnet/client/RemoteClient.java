package dev.buildnet.client;

import dev.buildnet.internal.master.MasterServer;

import static dev.buildnet.internal.DurationChecks.positive;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.RemoteErrorException;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.transport.TcpTransport;
import dev.buildnet.internal.transport.HandshakeRefusedException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;


/**
 * A client of a {@link MasterServer} (or any master speaking the BuildNet protocol): one
 * authenticated connection, over which {@link #state()} offers the master's state store and locks,
 * {@link #blobs()} its blob store, {@link #submit}/{@link #newBuild} run builds on it and
 * {@link #subscribe} follows its build events.
 *
 * <h2>Connection loss</h2>
 *
 * If the connection drops, the operation that was waiting fails with a {@link StateException}
 * saying the master is unreachable (for a write: it may have been applied before the drop), and
 * the next operation connects again. Leases survive a reconnect; they are the master's.
 *
 * <h2>Threads and cost</h2>
 *
 * Safe for concurrent use; concurrent calls share the connection and are answered in the order
 * the master received them. Every state operation blocks for one round trip, at most the request
 * timeout; so do submitting, cancelling and (un)subscribing. Build listeners and build results
 * run on the event executor, never on the connection's reader thread, so they may call the client.
 * Threads: the transport's ({@code buildnet-net-…}), two per connection and one timer; one event
 * thread from the first build or subscription unless an event executor is given.
 *
 * <h2>Builds and connection loss</h2>
 *
 * A build is reported on the connection that submitted it, and subscriptions live on theirs: if
 * it drops, their results complete exceptionally and subscriptions end (see {@link RemoteBuild});
 * the builds keep running on the master.
 *
 * <h2>Shutdown</h2>
 *
 * {@link #close()} closes the connection and threads; idempotent. The {@link #state()} view then
 * throws {@link IllegalStateException}.
 *
 * @since 0.1
 */
public final class RemoteClient implements AutoCloseable {
  private final InetSocketAddress master;
  private final String clientId;
  private final Duration connectTimeout;
  private final Duration requestTimeout;
  private final dev.buildnet.internal.transport.SessionTransport transport;
  private final RemoteStateBackend state;
  private final RemoteBlobs blobs;
  private final RemoteBuilds builds;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object connecting = new Object();
  private volatile Session connection;

  private RemoteClient(Builder b) {
    this.master = b.address;
    this.clientId = b.clientId;
    this.connectTimeout = b.connectTimeout;
    this.requestTimeout = b.requestTimeout;
    TcpTransport.Builder t =
        TcpTransport.builder().transport(b.transport).localId(b.clientId).asClient();
    this.transport = t.build(b.carrier);
    this.state = new RemoteStateBackend(this);
    this.blobs = new RemoteBlobs(this::connection, where(), b.hashes, b.requestTimeout, b.blobTimeout,
        dev.buildnet.internal.protocol.Payloads.MAX_CHUNK_BYTES);
    this.builds = new RemoteBuilds(this, b.requestTimeout, b.eventExecutor);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * The master's state store and locks. Closing the view closes only the view (its operations
   * then throw {@link IllegalStateException}); the client stays connected.
   */
  public StateBackend state() {
    return state;
  }

  /**
   * The master's blob store: which blobs it lacks, uploads and downloads (streamed, verified).
   * Needs a master with a blob store; digests are of {@link Builder#hashes}.
   */
  public RemoteBlobs blobs() {
    return blobs;
  }

  /**
   * Describes a build of {@code targets} (and their dependencies) to run on the master; {@link
   * RemoteBuild.Request#submit()} sends it. Needs a master that runs builds (e.g. a {@code
   * BuildNet} started with {@code listen(...)}).
   *
   * @throws IllegalArgumentException if no target is named, or a name is empty
   */
  public RemoteBuild.Request newBuild(List<String> targets) {
    return new RemoteBuild.Request(builds, targets);
  }

  /**
   * Submits a build of {@code targets} with the defaults of {@link #newBuild}: stop at the first
   * failure, no event listener. Blocks until the master started it (one round trip).
   *
   * @throws dev.buildnet.api.NotStartedException ({@code REFUSED}) if the master refused it (unknown
   *     target, no build service...)
   * @throws BuildNetException if the master is unreachable or does not answer in time
   */
  public RemoteBuild submit(String... targets) {
    return newBuild(Arrays.asList(targets)).submit();
  }

  /**
   * Streams the master's build events to {@code listener}: first a replay of what the master
   * remembers (for {@code buildId}, or for every build when it is null), then every later event.
   * Blocks until the master acknowledged (one round trip). The listener runs on the event
   * executor; close the subscription to stop it. It ends when the connection drops.
   *
   * @param buildId only this build's events (it need not have started yet); null: every build
   * @param logs include log lines
   * @throws dev.buildnet.api.NotStartedException ({@code REFUSED}) if the master refused (e.g. it runs
   *     no builds)
   * @throws BuildNetException if the master is unreachable or does not answer in time
   */
  public RemoteSubscription subscribe(String buildId, boolean logs, Consumer<BuildEvent> listener) {
    Objects.requireNonNull(listener, "listener");
    if (buildId != null && buildId.isEmpty()) {
      throw new IllegalArgumentException("buildId must not be empty (null means every build)");
    }
    return builds.subscribe(buildId, logs, listener);
  }

  /**
   * Re-attaches to a build on the master, typically one this client followed before its
   * connection dropped: the master replays the build's events numbered above {@code since}
   * (from its replay buffer), then sends later ones live, and the returned build's {@link
   * RemoteBuild#result()} completes with the build's result, whether it ended while the client was
   * away or ends later. After a lost connection: {@code client.attach(lost.buildId(),
   * lost.lastEventSeq(), lost.logs(), listener)}. Blocks for one round trip.
   *
   * @param since the last event number seen ({@link RemoteBuild#lastEventSeq()}); 0 for all
   * @param logs include log lines; must match the choice {@code since} was counted with
   * @param onEvent receives the events; may be null when only the result matters
   * @throws dev.buildnet.api.NotStartedException ({@code REFUSED}) if the master does not know the
   *     build (any more) and {@code since > 0} (code {@code NOT_FOUND})
   * @throws BuildNetException if the master is unreachable or speaks a protocol older than 1.3
   * @throws IllegalArgumentException if this client already follows that build
   * @since 0.1
   */
  public RemoteBuild attach(String buildId, long since, boolean logs, Consumer<BuildEvent> onEvent) {
    if (buildId == null || buildId.isEmpty()) {
      throw new IllegalArgumentException("buildId must not be empty");
    }
    if (since < 0) {
      throw new IllegalArgumentException("since must be >= 0 but was " + since);
    }
    return builds.attach(buildId, since, logs, onEvent);
  }

  /**
   * Cancels a build running on the master, whichever client submitted it: running commands are
   * killed, queued targets dropped. Blocks for one round trip.
   *
   * @return false if no build with that id is running on the master
   * @throws dev.buildnet.api.NotStartedException ({@code REFUSED}) if the master refused (e.g. it runs
   *     no builds)
   */
  public boolean cancel(String buildId) {
    if (buildId == null || buildId.isEmpty()) {
      throw new IllegalArgumentException("buildId must not be empty");
    }
    return builds.cancel(buildId);
  }

  /** The master's address as configured. */
  public InetSocketAddress masterAddress() {
    return master;
  }

  /** This client's id, sent in HELLO. */
  public String clientId() {
    return clientId;
  }

  /** Whether the connection is up now (it may drop at any moment). */
  public boolean isConnected() {
    Session c = connection;
    return c != null && c.isOpen();
  }

  boolean isClosed() {
    return closed.get();
  }

  String where() {
    return master.getHostString() + ":" + master.getPort();
  }

  /** The open connection, connecting if needed. */
  Session connection() {
    Session c = connection;
    if (c != null && c.isOpen()) {
      return c;
    }
    synchronized (connecting) {
      if (closed.get()) {
        throw new IllegalStateException("remote client of " + where() + " is closed");
      }
      c = connection;
      if (c != null && c.isOpen()) {
        return c;
      }
      try {
        c = transport.connect(master, connectTimeout, builds);
      } catch (IOException e) {
        HandshakeRefusedException refused = refusal(e);
        if (refused != null) {
          // Reached, and refused (a wrong secret, an unsupported version): not "unreachable".
          throw new StateException("the master at " + where() + " refused this client: "
              + refused.detail(), e);
        }
        throw new StateException("the master at " + where() + " is unreachable: " + e.getMessage(), e);
      } catch (IllegalStateException e) {
        throw new IllegalStateException("remote client of " + where() + " is closed", e);
      }
      connection = c;
      return c;
    }
  }

  /** The refusal {@code e} is or was caused by, or null if the listener was not reached. */
  static HandshakeRefusedException refusal(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof HandshakeRefusedException r) {
        return r;
      }
    }
    return null;
  }

  /**
   * Sends {@code payload} and waits for the reply.
   *
   * @param what the operation, for messages, e.g. {@code set of key 'k'}
   * @param write whether the request changes state (its outcome is unknown if no reply comes)
   * @throws RemoteErrorException if the master answered ERROR
   * @throws StateException if the master is unreachable or does not answer in time
   */
  Message call(Payload payload, String what, boolean write) {
    Session c = connection();
    String maybe = write ? "; the change may have been applied before the failure" : "";
    try {
      return c.request(payload, requestTimeout)
          .get(requestTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RemoteErrorException remote) {
        throw remote;
      }
      if (cause instanceof TimeoutException) {
        throw new StateException("the master at " + where() + " did not answer the " + what
            + " within " + requestTimeout + maybe, cause);
      }
      if (closed.get()) {
        throw new IllegalStateException("remote client of " + where() + " was closed during the " + what);
      }
      throw new StateException("the master at " + where() + " is unreachable: the connection was lost"
          + " during the " + what + maybe + " (" + cause.getMessage() + ")", cause);
    } catch (TimeoutException e) {
      throw new StateException("the master at " + where() + " did not answer the " + what
          + " within " + requestTimeout + maybe, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StateException("interrupted while waiting for the master at " + where()
          + " to answer the " + what + maybe, e);
    }
  }

  /** The minor protocol version of the current connection. */
  int minorVersion() {
    return connection().minorVersion();
  }

  /** Closes the connection and the transport's threads; idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      synchronized (connecting) {
        transport.close();
      }
      builds.close();
    }
  }

  @Override
  public String toString() {
    return "RemoteClient[" + clientId + " -> " + where() + "]";
  }

  /**
   * Configures a {@link RemoteClient}. The master's address and {@link #transport} are required; each
   * setter may be called once and checks its argument at once.
   */
  public static final class Builder {
    private InetSocketAddress address;
    private TransportSettings transport;
    private Transport carrier;
    private String clientId;
    private Duration connectTimeout;
    private Duration requestTimeout;
    private HashProvider hashes;
    private Duration blobTimeout;
    private Executor eventExecutor;

    private Builder() {}

    /**
     * Runs build listeners and completes {@link RemoteBuild#result()}s; it should run tasks one at
     * a time to keep events in order. Not shut down by the client. Default: the client's own
     * {@code buildnet-client-events-<id>} thread, started on the first build or subscription.
     */
    public Builder eventExecutor(Executor executor) {
      if (this.eventExecutor != null) {
        throw new IllegalStateException("eventExecutor was already set to " + this.eventExecutor);
      }
      this.eventExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** The algorithm of blob digests, which must be the master store's; xxh64 by default. */
    public Builder hashes(HashProvider hashes) {
      if (this.hashes != null) {
        throw new IllegalStateException("hashes was already set to " + this.hashes.algorithm());
      }
      this.hashes = Objects.requireNonNull(hashes, "hashes");
      return this;
    }

    /** Bound on one whole blob upload or download; 1 hour by default. */
    public Builder blobTimeout(Duration timeout) {
      if (this.blobTimeout != null) {
        throw new IllegalStateException("blobTimeout was already set to " + this.blobTimeout);
      }
      this.blobTimeout = positive("blobTimeout", timeout);
      return this;
    }

    /** The master's host and port. */
    public Builder address(String host, int port) {
      if (host == null || host.isEmpty()) {
        throw new IllegalArgumentException("host must not be empty");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be 1..65535 but was " + port);
      }
      return address(new InetSocketAddress(host, port));
    }

    /** The master's address, e.g. {@link MasterServer#localAddress()}. */
    public Builder address(InetSocketAddress address) {
      if (this.address != null) {
        throw new IllegalStateException("address was already set to " + this.address);
      }
      this.address = Objects.requireNonNull(address, "address");
      return this;
    }

    /**
     * The secret shared with the master and, if it speaks TLS, the context to connect with (the
     * master's certificate is checked against the host name). Required.
     */
    public Builder transport(TransportSettings settings) {
      if (this.transport != null) {
        throw new IllegalStateException("transport was already set");
      }
      this.transport = Objects.requireNonNull(settings, "settings");
      return this;
    }

    /**
     * Like {@link #transport(TransportSettings)}, with frames moved by {@code transport} instead of
     * the built-in TCP transport. The client runs the shared-secret handshake and matches replies
     * to requests above it, so any transport that moves messages will do; it is not closed by the
     * client.
     *
     * @throws IllegalArgumentException if {@code settings} has a TLS context: that configures the
     *     TCP transport, and a host's transport secures its own channel
     */
    public Builder transport(TransportSettings settings, Transport transport) {
      dev.buildnet.internal.transport.FramedTransport.checkSettings(settings, transport);
      transport(settings);
      this.carrier = transport;
      return this;
    }

    /** This client's id in HELLO; {@code client-<pid>} by default. */
    public Builder clientId(String clientId) {
      if (this.clientId != null) {
        throw new IllegalStateException("clientId was already set to " + this.clientId);
      }
      if (clientId == null || clientId.isEmpty()) {
        throw new IllegalArgumentException("clientId must not be empty");
      }
      this.clientId = clientId;
      return this;
    }

    /** Bound on connecting and the handshake; 10 s by default. */
    public Builder connectTimeout(Duration timeout) {
      if (this.connectTimeout != null) {
        throw new IllegalStateException("connectTimeout was already set to " + this.connectTimeout);
      }
      this.connectTimeout = positive("connectTimeout", timeout);
      return this;
    }

    /** Bound on waiting for one reply; 30 s by default. */
    public Builder requestTimeout(Duration timeout) {
      if (this.requestTimeout != null) {
        throw new IllegalStateException("requestTimeout was already set to " + this.requestTimeout);
      }
      this.requestTimeout = positive("requestTimeout", timeout);
      return this;
    }

    /**
     * Connects and authenticates; blocks up to the connect timeout.
     *
     * @throws IllegalStateException if the address or transport is missing
     * @throws StateException if the master is unreachable or refuses (the message says why)
     */
    public RemoteClient connect() {
      if (address == null) {
        throw new IllegalStateException("address is required: where the master listens");
      }
      if (transport == null) {
        throw new IllegalStateException(
            "transport(...) with the secret is required: BuildNet never runs unauthenticated");
      }
      if (clientId == null) {
        clientId = "client-" + ProcessHandle.current().pid();
      }
      if (connectTimeout == null) {
        connectTimeout = Duration.ofSeconds(10);
      }
      if (requestTimeout == null) {
        requestTimeout = Duration.ofSeconds(30);
      }
      if (hashes == null) {
        hashes = HashProvider.xxh64();
      }
      if (blobTimeout == null) {
        blobTimeout = Duration.ofHours(1);
      }
      RemoteClient client = new RemoteClient(this);
      try {
        client.connection();
      } catch (BuildNetException | IllegalStateException e) {
        client.close();
        throw e;
      }
      return client;
    }
  }
}
