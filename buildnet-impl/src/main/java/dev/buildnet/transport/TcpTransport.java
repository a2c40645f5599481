package dev.buildnet.transport;

import static dev.buildnet.internal.DurationChecks.positive;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.Transport.Connection.Handler;
import dev.buildnet.protocol.Auth;
import dev.buildnet.protocol.ErrorCode;
import dev.buildnet.protocol.FrameCodec;
import dev.buildnet.protocol.Payloads.AuthChallenge;
import dev.buildnet.protocol.Payloads.AuthProof;
import dev.buildnet.protocol.Payloads.ErrorReply;
import dev.buildnet.protocol.Payloads.Heartbeat;
import dev.buildnet.protocol.Payloads.Hello;
import dev.buildnet.protocol.Payloads.HelloAck;
import dev.buildnet.protocol.Protocol;
import dev.buildnet.protocol.ProtocolException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The BuildNet protocol over TCP (optionally TLS), with the HELLO / AUTH_CHALLENGE / AUTH_PROOF /
 * HELLO_ACK handshake of {@code docs/PROTOCOL.md}: both sides prove they know the shared secret
 * (HMAC-SHA256 challenge–response; the secret never crosses the wire).
 *
 * <h2>Use</h2>
 *
 * A master {@link #listen}s: each connection is authenticated on its own thread before the {@link
 * Transport.Acceptor} sees it, as a {@link PeerConnection} carrying the peer's HELLO. A worker or
 * client {@link #connect}s and gets an authenticated {@link PeerConnection}; use {@link
 * PeerConnection#request} for request/reply messages. A peer that fails the handshake is told why
 * (HELLO_ACK or ERROR), logged, and disconnected; listeners and other connections carry on.
 *
 * <h2>Costs and limits</h2>
 *
 * Two daemon threads per connection (reader, writer), one per listener (accepting), one timer per
 * transport, all named {@code buildnet-net-…}. Frames above {@code maxFrameBytes} are refused
 * before allocation; each connection's outgoing queue is bounded ({@code maxQueuedBytes}) and a
 * peer too slow to drain it is disconnected; a connection receiving no frame within {@code
 * idleTimeout} is closed (connecting sides send HEARTBEATs to stay alive), and one not through the
 * handshake within {@code handshakeTimeout} too.
 *
 * <h2>Shutdown</h2>
 *
 * {@link #close()} closes every listener and connection and waits (briefly, bounded) for their
 * threads to end; it is idempotent. Safe for concurrent use.
 *
 * @since 0.1
 */
public final class TcpTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(TcpTransport.class);

  private final byte[] secret;
  private final String localId;
  private final String role;
  private final List<String> capabilities;
  private final Long cpuSlots;
  private final Long memoryMb;
  private final InetAddress bindAddress;
  private final FrameCodec codec;
  private final long maxQueuedBytes;
  private final Duration idleTimeout;
  private final Duration handshakeTimeout;
  private final Duration heartbeatInterval;
  private final String blobAlgorithm;
  private final boolean automaticHeartbeats;
  private final SSLContext tls;
  private final Clock clock;
  private final int minor;
  private final SecureRandom random = new SecureRandom();
  private final ScheduledThreadPoolExecutor timer;
  private final Set<PeerConnection> connections = ConcurrentHashMap.newKeySet();
  private final Set<PeerConnection> retiring = ConcurrentHashMap.newKeySet();
  private final Set<ListenerImpl> listeners = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();

  private TcpTransport(Builder b) {
    this.secret = b.secret.clone();
    this.blobAlgorithm = b.blobAlgorithm;
    this.localId = b.localId;
    this.role = b.role;
    this.capabilities = b.capabilities;
    this.cpuSlots = b.cpuSlots;
    this.memoryMb = b.memoryMb;
    this.bindAddress = b.bindAddress;
    this.codec = FrameCodec.withMaxFrameBytes(b.maxFrameBytes);
    this.maxQueuedBytes = b.maxQueuedBytes;
    this.idleTimeout = b.idleTimeout;
    this.handshakeTimeout = b.handshakeTimeout;
    this.heartbeatInterval =
        b.heartbeatInterval != null ? b.heartbeatInterval : idleTimeout.dividedBy(3);
    this.automaticHeartbeats = b.automaticHeartbeats;
    this.tls = b.tls;
    this.clock = b.clock;
    this.minor = b.minor;
    this.timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "buildnet-net-timer");
              t.setDaemon(true);
              return t;
            });
    timer.setRemoveOnCancelPolicy(true);
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  public static Builder builder() {
    return new Builder();
  }

  // ---- listening -----------------------------------------------------------------------------

  /** Listens on the configured bind address (loopback unless set); port 0 picks a free port. */
  public Listener listen(int port, Acceptor acceptor) throws IOException {
    return listen(new InetSocketAddress(bindAddress, port), acceptor);
  }

  @Override
  public Listener listen(InetSocketAddress address, Acceptor acceptor) throws IOException {
    Objects.requireNonNull(acceptor, "acceptor");
    checkOpen();
    ServerSocket server =
        tls != null ? tls.getServerSocketFactory().createServerSocket() : new ServerSocket();
    try {
      server.setReuseAddress(true);
      server.bind(address, 128);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
    }
    ListenerImpl l = new ListenerImpl(server, acceptor);
    listeners.add(l);
    l.thread.start();
    log.info("listening on {}{}", l.localAddress(), tls != null ? " (TLS)" : "");
    return l;
  }

  private final class ListenerImpl implements Listener {
    final ServerSocket server;
    final Acceptor acceptor;
    final Thread thread;
    final AtomicBoolean closed = new AtomicBoolean();

    ListenerImpl(ServerSocket server, Acceptor acceptor) {
      this.server = server;
      this.acceptor = acceptor;
      this.thread = new Thread(this::acceptLoop, "buildnet-net-accept-" + server.getLocalPort());
      thread.setDaemon(true);
    }

    private void acceptLoop() {
      while (!closed.get()) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          if (!closed.get()) {
            log.warn("listener {} stopped accepting: {}", localAddress(), e.toString());
            close();
          }
          return;
        }
        try {
          s.setTcpNoDelay(true);
          PeerConnection c = new PeerConnection(TcpTransport.this, s);
          connections.add(c);
          if (TcpTransport.this.closed.get()) {
            c.close();
            continue;
          }
          c.startReader(() -> acceptHandshake(c, acceptor));
        } catch (IOException | RuntimeException e) {
          log.warn("cannot set up a connection from {}: {}", s.getRemoteSocketAddress(), e.toString());
          closeQuietly(s);
        }
      }
    }

    @Override
    public InetSocketAddress localAddress() {
      return (InetSocketAddress) server.getLocalSocketAddress();
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        closeQuietly(server);
        listeners.remove(this);
      }
    }
  }

  /** The listener's side of the handshake, on the new connection's reader thread. */
  private void acceptHandshake(PeerConnection c, Acceptor acceptor) throws IOException {
    c.handshakeDeadline(handshakeTimeout);
    c.startTlsHandshake(handshakeTimeout);
    Message first;
    try {
      first = c.readDirect();
    } catch (ProtocolException e) {
      c.failAndClose(e.code(), e.getMessage(), e.messageId(), e);
      return;
    }
    if (!(first.payload() instanceof Hello hello)) {
      c.failAndClose(
          ErrorCode.UNEXPECTED_MESSAGE, "expected HELLO but got " + first.type(), first.id(), null);
      return;
    }
    if (first.version() != Protocol.MAJOR) {
      refuse(c, first, ErrorCode.UNSUPPORTED_VERSION,
          "protocol major version " + first.version() + " is not supported; this peer speaks "
              + Protocol.MAJOR + "." + minor);
      return;
    }
    byte[] nonce = Auth.nonce(random);
    c.writeDirect(new AuthChallenge(first.id(), nonce));
    Message second;
    try {
      second = c.readDirect();
    } catch (ProtocolException e) {
      refuse(c, first, ErrorCode.AUTH_FAILED,
          "authentication proof missing: the AUTH_PROOF frame was invalid (" + e.getMessage() + ")");
      return;
    }
    if (!(second.payload() instanceof AuthProof proof)) {
      refuse(c, first, ErrorCode.AUTH_FAILED,
          "authentication proof missing: expected AUTH_PROOF but got " + second.type());
      return;
    }
    byte[] expected = Auth.clientProof(secret, nonce, hello.nonce(), hello.role(), hello.peerId());
    if (!Auth.matches(expected, proof.proof())) {
      refuse(c, first, ErrorCode.AUTH_FAILED,
          "authentication failed: wrong proof for " + hello.role() + " '" + hello.peerId()
              + "' (the shared secrets differ)");
      return;
    }
    c.writeDirect(
        new HelloAck(first.id(), true, minor, localId,
            Auth.serverProof(secret, hello.nonce(), nonce, localId), null, null,
            heartbeatInterval.isZero() ? null : Math.max(1, heartbeatInterval.toMillis()),
            blobAlgorithm));
    c.peerRuntime(first.runtime());
    c.established(hello, hello.peerId(), (int) Math.min(Integer.MAX_VALUE, hello.minor()), null);
    Handler h;
    try {
      h = Objects.requireNonNull(acceptor.accept(c), "the acceptor returned no handler");
    } catch (RuntimeException e) {
      log.error("acceptor failed for {}", c, e);
      c.failAndClose(ErrorCode.INTERNAL, "the listener could not take the connection", null, e);
      return;
    }
    c.established(hello, hello.peerId(), (int) Math.min(Integer.MAX_VALUE, hello.minor()), h);
    c.startWriter();
    log.info("accepted {} {} (runtime {}, minor {})", hello.role(), c, first.runtime(), hello.minor());
  }

  private void refuse(PeerConnection c, Message hello, ErrorCode code, String reason) {
    log.warn("refused connection from {}: {}", c, reason);
    try {
      c.writeDirect(new HelloAck(hello.id(), false, minor, localId, null, (long) code.code(), reason, null));
    } catch (IOException | RuntimeException e) {
      log.debug("could not tell {} why: {}", c, e.toString());
    }
    c.close(new ProtocolException(code, reason));
  }

  // ---- connecting ----------------------------------------------------------------------------

  /**
   * Connects, runs the handshake as this transport's {@code role} and {@code localId}, and returns
   * the authenticated connection; blocks up to {@code timeout} in all.
   *
   * @throws IOException if the peer is unreachable, refuses (the message carries its reason), or
   *     cannot prove it knows the shared secret
   */
  @Override
  public PeerConnection connect(InetSocketAddress address, Duration timeout, Handler handler)
      throws IOException {
    Objects.requireNonNull(handler, "handler");
    checkOpen();
    long start = System.nanoTime();
    Socket s = new Socket();
    PeerConnection c;
    try {
      s.setTcpNoDelay(true);
      s.connect(address, (int) Math.max(1, timeout.toMillis()));
      if (tls != null) {
        SSLSocket ssl =
            (SSLSocket) tls.getSocketFactory().createSocket(s, address.getHostString(), address.getPort(), true);
        ssl.setUseClientMode(true);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(params);
        s = ssl;
      }
      c = new PeerConnection(this, s);
    } catch (IOException e) {
      closeQuietly(s);
      throw new IOException("cannot connect to " + address + ": " + e.getMessage(), e);
    }
    connections.add(c);
    Duration interval;
    try {
      Duration left = timeout.minusNanos(System.nanoTime() - start);
      c.handshakeDeadline(left);
      c.startTlsHandshake(left);
      HelloAck ack = connectHandshake(c, handler);
      c.peerBlobAlgorithm(ack.blobAlgorithm());
      interval = heartbeatInterval;
      if (ack.heartbeatMs() != null
          && (interval.isZero() || ack.heartbeatMs() < interval.toMillis())) {
        interval = Duration.ofMillis(ack.heartbeatMs()); // the listener's idle timeout rules
      }
    } catch (IOException | RuntimeException e) {
      c.close(e);
      throw new IOException("handshake with " + address + " failed: " + e.getMessage(), e);
    }
    c.startWriter();
    c.startReader(null);
    if (automaticHeartbeats && !interval.isZero()) {
      scheduleHeartbeat(c, interval);
    }
    return c;
  }

  private HelloAck connectHandshake(PeerConnection c, Handler handler) throws IOException {
    byte[] nonce = Auth.nonce(random);
    Hello hello = new Hello(role, localId, minor, nonce, capabilities, cpuSlots, memoryMb);
    Message helloMessage = c.message(hello);
    c.writeDirectMessage(helloMessage);
    Message reply = c.readDirect();
    byte[] serverNonce = null;
    if (reply.payload() instanceof AuthChallenge challenge) {
      serverNonce = challenge.nonce();
      c.writeDirect(
          new AuthProof(reply.id(),
              Auth.clientProof(secret, challenge.nonce(), nonce, role, localId)));
      reply = c.readDirect();
    }
    if (reply.payload() instanceof ErrorReply e) {
      throw new IOException("refused: " + new RemoteErrorException(e).getMessage());
    }
    if (!(reply.payload() instanceof HelloAck ack)) {
      throw new IOException("expected HELLO_ACK but got " + reply.type());
    }
    if (!ack.accepted()) {
      throw new IOException(
          "refused by " + ack.peerId() + " ("
              + ErrorCode.fromCode(ack.errorCode()).map(Enum::name).orElse(String.valueOf(ack.errorCode()))
              + "): " + ack.reason());
    }
    // An accepting HELLO_ACK without a challenge first, or with a wrong proof, is an impostor.
    if (serverNonce == null
        || !Auth.matches(Auth.serverProof(secret, nonce, serverNonce, ack.peerId()), ack.proof())) {
      throw new IOException(
          "the listener '" + ack.peerId() + "' could not prove it knows the shared secret");
    }
    c.established(null, ack.peerId(), (int) Math.min(Integer.MAX_VALUE, ack.minor()), handler);
    return ack;
  }

  private void scheduleHeartbeat(PeerConnection c, Duration interval) {
    long period = interval.toNanos();
    ScheduledFuture<?>[] task = new ScheduledFuture<?>[1];
    task[0] =
        timer.scheduleWithFixedDelay(
            () -> {
              if (!c.isOpen()) {
                task[0].cancel(false);
              } else if (System.nanoTime() - c.lastSentNanos() >= period / 2) {
                c.send(new Heartbeat(null));
              }
            },
            period,
            period,
            TimeUnit.NANOSECONDS);
  }

  // ---- shared --------------------------------------------------------------------------------

  FrameCodec codec() {
    return codec;
  }

  Clock clock() {
    return clock;
  }

  int minor() {
    return minor;
  }

  long maxQueuedBytes() {
    return maxQueuedBytes;
  }

  Duration idleTimeout() {
    return idleTimeout;
  }

  /** Runs {@code task} after {@code delay}; cancel the returned future if it is no longer due. */
  java.util.concurrent.Future<?> schedule(Runnable task, Duration delay) {
    try {
      return timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      task.run(); // closed: run now, the connection is closed too
      return CompletableFuture.completedFuture(null);
    }
  }

  void forget(PeerConnection c) {
    connections.remove(c);
    // A closed connection's threads may still be finishing; close() joins them too.
    retiring.removeIf(PeerConnection::threadsEnded);
    retiring.add(c);
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("transport is closed");
    }
  }

  /** Closes every listener and connection, then waits up to 5 s for their threads to end. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    // Copied first: a closed listener leaves the set, and its thread must still be joined.
    List<ListenerImpl> listening = List.copyOf(listeners);
    listening.forEach(ListenerImpl::close);
    List<PeerConnection> open = List.copyOf(connections);
    open.forEach(PeerConnection::close);
    timer.shutdownNow();
    try {
      for (ListenerImpl l : listening) {
        l.thread.join(5000);
      }
      for (PeerConnection c : open) {
        c.join(5000);
      }
      for (PeerConnection c : List.copyOf(retiring)) {
        c.join(5000);
      }
      retiring.clear();
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // nothing more to do
    }
  }

  /**
   * Configures a {@link TcpTransport}. {@link #secret} and {@link #localId} are required; the rest
   * have defaults. Setters check their argument at once.
   */
  public static final class Builder {
    private byte[] secret;
    private String localId;
    private String role = Hello.CLIENT;
    private List<String> capabilities;
    private Long cpuSlots;
    private Long memoryMb;
    private InetAddress bindAddress = InetAddress.getLoopbackAddress();
    private int maxFrameBytes = FrameCodec.DEFAULT_MAX_FRAME_BYTES;
    private long maxQueuedBytes = 64L << 20;
    private Duration idleTimeout = Duration.ofSeconds(60);
    private Duration handshakeTimeout = Duration.ofSeconds(10);
    private Duration heartbeatInterval;
    private String blobAlgorithm;
    private boolean automaticHeartbeats = true;
    private SSLContext tls;
    private Clock clock = Clock.systemUTC();
    private int minor = Protocol.MINOR;

    private Builder() {}

    /** The shared secret (at least 16 bytes); copied. Never sent over the wire. */
    public Builder secret(byte[] secret) {
      Auth.checkSecret(secret);
      this.secret = secret.clone();
      return this;
    }

    /** This peer's id: the master's id when listening, the worker's or client's when connecting. */
    public Builder localId(String localId) {
      if (localId == null || localId.isEmpty()) {
        throw new IllegalArgumentException("localId must not be empty");
      }
      this.localId = localId;
      return this;
    }

    /** Connect as a client (the default). */
    public Builder asClient() {
      this.role = Hello.CLIENT;
      this.cpuSlots = null;
      this.memoryMb = null;
      return this;
    }

    /** Connect as a worker offering these capabilities and resources. */
    public Builder asWorker(List<String> capabilities, long cpuSlots, long memoryMb) {
      if (cpuSlots < 1 || memoryMb < 1) {
        throw new IllegalArgumentException(
            "a worker needs at least 1 CPU slot and 1 MB but offered " + cpuSlots + " slots, "
                + memoryMb + " MB");
      }
      this.role = Hello.WORKER;
      this.capabilities = List.copyOf(capabilities);
      this.cpuSlots = cpuSlots;
      this.memoryMb = memoryMb;
      return this;
    }

    /** Where {@link TcpTransport#listen(int, Acceptor)} binds; loopback by default. */
    public Builder bindAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address, "address");
      return this;
    }

    /** Largest frame body accepted or sent; 16 MiB by default, at least 1 KiB. */
    public Builder maxFrameBytes(int max) {
      FrameCodec.withMaxFrameBytes(max);
      this.maxFrameBytes = max;
      return this;
    }

    /** Bytes queued for one peer before it counts as too slow and is disconnected; 64 MiB. */
    public Builder maxQueuedBytes(long max) {
      if (max < 1024) {
        throw new IllegalArgumentException("maxQueuedBytes must be at least 1024 but was " + max);
      }
      this.maxQueuedBytes = max;
      return this;
    }

    /** A connection receiving no frame for this long is closed; 60 s by default. */
    public Builder idleTimeout(Duration timeout) {
      this.idleTimeout = positive("idleTimeout", timeout);
      return this;
    }

    /** A listener closes a connection not through the handshake within this; 10 s by default. */
    public Builder handshakeTimeout(Duration timeout) {
      this.handshakeTimeout = positive("handshakeTimeout", timeout);
      return this;
    }

    /**
     * The algorithm of the blob store this listener serves (e.g. {@code xxh64}), told to peers in
     * HELLO_ACK so workers name their outputs with it; unset: not told.
     */
    public Builder blobAlgorithm(String algorithm) {
      Objects.requireNonNull(algorithm, "algorithm");
      if (algorithm.isEmpty()) {
        throw new IllegalArgumentException("blobAlgorithm must not be empty");
      }
      this.blobAlgorithm = algorithm;
      return this;
    }

    /**
     * How often a connecting side sends HEARTBEAT when it has sent nothing else; a third of the
     * idle timeout by default; {@link Duration#ZERO} turns heartbeats off.
     */
    public Builder heartbeatInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.isNegative()) {
        throw new IllegalArgumentException("heartbeatInterval must not be negative but was " + interval);
      }
      this.heartbeatInterval = interval;
      return this;
    }

    /**
     * Whether connections this transport opens send HEARTBEAT by themselves (the default); turn
     * off only to send them by hand, e.g. to play a peer that stops heartbeating in a test.
     */
    public Builder automaticHeartbeats(boolean on) {
      this.automaticHeartbeats = on;
      return this;
    }

    /** Speak TLS with this context, on both listening and connecting sockets. */
    public Builder tls(SSLContext context) {
      this.tls = Objects.requireNonNull(context, "context");
      return this;
    }

    /** The clock of envelope timestamps (never of timeouts). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** The minor version announced; tests use it to play a newer peer. */
    Builder minorVersion(int minor) {
      this.minor = minor;
      return this;
    }

    public TcpTransport build() {
      if (secret == null) {
        throw new IllegalStateException("secret is required: BuildNet never runs unauthenticated");
      }
      if (localId == null) {
        throw new IllegalStateException("localId is required");
      }
      return new TcpTransport(this);
    }
  }
}
