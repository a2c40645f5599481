package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The BuildNet session layer over a host's {@link Transport}: every connection that transport
 * accepts or opens gets the HELLO / AUTH_CHALLENGE / AUTH_PROOF / HELLO_ACK handshake of {@code
 * docs/PROTOCOL.md} (the same frames the TCP transport exchanges), request/reply matching and
 * heartbeats, in a {@link FramedSession}. The master, worker and client see only authenticated
 * sessions, so a transport that authenticates nothing cannot let an unauthenticated peer in.
 *
 * <h2>Admission</h2>
 *
 * A listener takes connections under the TCP transport's caps: at most {@code maxUnauthenticated}
 * sessions still in their handshake (at the cap a new one closes the oldest, so a peer that
 * authenticates promptly always gets in), {@code maxUnauthenticatedPerAddress} of them per remote
 * address, and {@code maxConnectionsPerAddress} in all per remote address; a refused one gets
 * ERROR {@code BUSY} and is closed. A connection whose transport knows no remote address counts
 * only against the first cap.
 *
 * <h2>Back-pressure</h2>
 *
 * What a role's handler keeps to handle later ({@link Session#holdInbound}) counts against its
 * session's backlog; past {@code inboundHighWaterBytes} the session blocks the host transport's
 * delivery thread until the backlog falls to half (see {@link FramedSession#holdInbound}). The
 * {@link Transport} contract lets a handler block its own connection; a transport that reads a
 * socket on that thread then stops reading it, and TCP flow control pushes back on the peer.
 *
 * <h2>Costs and shutdown</h2>
 *
 * One timer thread ({@code buildnet-session-timer}) for handshake deadlines, request timeouts and
 * heartbeats; messages are handled on the host transport's threads. {@link #close()} closes the
 * listeners and sessions this opened, but not the host's transport (its owner closes it).
 */
public final class FramedTransport implements SessionTransport {
  final Transport carrier;
  final byte[] secret;
  final String localId;
  final String role;
  final List<String> capabilities;
  final Long cpuSlots;
  final Long memoryMb;
  final Duration handshakeTimeout;
  final Duration heartbeatInterval; // zero: off
  final boolean automaticHeartbeats;
  final String blobAlgorithm;
  final Clock clock;
  final int minor;
  final long inboundHighWaterBytes;
  final SecureRandom random = new SecureRandom();
  final ScheduledThreadPoolExecutor timer;
  private final Admission<FramedSession> admission;
  private final Set<FramedSession> sessions = ConcurrentHashMap.newKeySet();
  private final Set<Transport.Listener> listeners = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();

  FramedTransport(Transport carrier, byte[] secret, String localId, String role,
      List<String> capabilities, Long cpuSlots, Long memoryMb, Duration handshakeTimeout,
      Duration heartbeatInterval, boolean automaticHeartbeats, String blobAlgorithm, Clock clock,
      int minor, int maxUnauthenticated, int maxUnauthenticatedPerAddress,
      int maxConnectionsPerAddress, long inboundHighWaterBytes) {
    this.carrier = Objects.requireNonNull(carrier, "transport");
    this.secret = secret.clone();
    this.localId = localId;
    this.role = role;
    this.capabilities = capabilities;
    this.cpuSlots = cpuSlots;
    this.memoryMb = memoryMb;
    this.handshakeTimeout = handshakeTimeout;
    this.heartbeatInterval = heartbeatInterval;
    this.automaticHeartbeats = automaticHeartbeats;
    this.blobAlgorithm = blobAlgorithm;
    this.clock = clock;
    this.minor = minor;
    this.inboundHighWaterBytes = inboundHighWaterBytes;
    this.admission = new Admission<>(maxUnauthenticated, maxUnauthenticatedPerAddress,
        maxConnectionsPerAddress);
    this.timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "buildnet-session-timer");
      t.setDaemon(true);
      return t;
    });
    timer.setRemoveOnCancelPolicy(true);
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  /**
   * Checks a host's transport and the settings handed with it: the TLS context configures only
   * the built-in TCP transport, so a host's transport with one would quietly not speak TLS.
   */
  public static void checkSettings(TransportSettings settings, Transport transport) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(transport, "transport");
    if (settings.tls().isPresent()) {
      throw new IllegalArgumentException("TransportSettings.tls configures the built-in TCP "
          + "transport; a host's Transport (" + transport.getClass().getName()
          + ") secures its own channel: leave tls unset");
    }
  }

  @Override
  public Session connect(InetSocketAddress address, Duration timeout,
      Transport.Connection.Handler handler) throws IOException {
    Objects.requireNonNull(handler, "handler");
    checkOpen();
    FramedSession s = new FramedSession(this, false, handler, null);
    sessions.add(s);
    try {
      s.connect(address, timeout);
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  @Override
  public Transport.Listener listen(InetSocketAddress address, Transport.Acceptor acceptor)
      throws IOException {
    Objects.requireNonNull(acceptor, "acceptor");
    checkOpen();
    Transport.Listener l = carrier.listen(address, c -> {
      FramedSession s = new FramedSession(this, true, null, acceptor);
      sessions.add(s);
      s.accepted(c);
      admitOrRefuse(s, c.remoteAddress());
      return s;
    });
    listeners.add(l);
    return l;
  }

  void forget(FramedSession s) {
    sessions.remove(s);
    admission.released(s);
  }

  /**
   * Counts a new session against the caps ({@link Admission}), or refuses it with ERROR BUSY; at
   * the cap of unauthenticated sessions the oldest is closed instead, to make room.
   */
  private void admitOrRefuse(FramedSession s, InetSocketAddress remote) {
    Admission.Decision<FramedSession> d =
        admission.admit(s, remote == null ? null : remote.getAddress());
    if (!s.isOpen()) {
      admission.released(s); // closed meanwhile: its forget() may have come before the count
    }
    if (d.evicted() != null) {
      d.evicted().refuseBusy(d.evictionReason());
    }
    if (d.refusal() != null) {
      s.refuseBusy(d.refusal());
    }
  }

  /** The session completed its handshake: it no longer counts as unauthenticated. */
  void authenticated(FramedSession s) {
    admission.authenticated(s);
  }

  /** The sessions this opened or accepted and not yet closed, for tests. */
  List<FramedSession> openSessions() {
    return List.copyOf(sessions);
  }

  /** Sessions still in their handshake, for tests. */
  int unauthenticatedCount() {
    return admission.unauthenticatedCount();
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("transport is closed");
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    listeners.forEach(Transport.Listener::close);
    List.copyOf(sessions).forEach(FramedSession::close);
    timer.shutdownNow();
  }
}
