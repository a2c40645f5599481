package dev.buildnet.internal.transport;

import static dev.buildnet.internal.DurationChecks.positive;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.transport.Transport.Connection.Handler;
import dev.buildnet.internal.protocol.Auth;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.Payloads.AuthChallenge;
import dev.buildnet.internal.protocol.Payloads.AuthProof;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Payloads.HelloAck;
import dev.buildnet.internal.protocol.Protocol;
import dev.buildnet.internal.protocol.ProtocolException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
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
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The BuildNet protocol over TCP (optionally TLS), with the HELLO / AUTH_CHALLENGE / AUTH_PROOF /
 * HELLO_ACK handshake of {@code docs/PROTOCOL.md}: both sides prove they know the shared secret
 * (HMAC-SHA256 challenge–response; the secret never crosses the wire).
 *
 * <h2>Use</h2>
 *
 * A master {@link #listen}s: each connection is authenticated before the {@link
 * Transport.Acceptor} sees it, as a {@link PeerConnection} carrying the peer's HELLO. A worker or
 * client {@link #connect}s and gets an authenticated {@link PeerConnection}; use {@link
 * PeerConnection#request} for request/reply messages. A peer that fails the handshake is told why
 * (HELLO_ACK or ERROR), logged, and disconnected; listeners and other connections carry on.
 *
 * <h2>Costs and limits</h2>
 *
 * Every listener and every connection this side opens, plaintext or TLS, is served by one
 * selector thread per transport ({@code buildnet-net-loop}): no thread per connection, handshakes
 * included ({@link #connect} blocks only its caller, until the handshake is through). Frames its handlers send
 * while it works leave together (several per write syscall); on a plaintext connection a send
 * from another thread writes the socket itself unless the socket is full, on a TLS one it asks
 * the loop to (an {@link javax.net.ssl.SSLEngine} per connection, driven by the loop; its
 * delegated handshake tasks run on a small pool, {@code buildnet-net-tls-…}, at most one thread
 * per core). Handlers that are not {@link InlineHandler}s run on a shared pool ({@code
 * buildnet-net-handler-…}), one connection at a time each. A connecting side's TLS is the same
 * {@link javax.net.ssl.SSLEngine} code in client mode, checking the listener's certificate
 * against the host name connected to (as HTTPS does). One timer per transport. All threads are
 * named {@code buildnet-net-…}.
 *
 * <p>Frames above {@code maxFrameBytes} are refused before allocation, and before the handshake
 * completes the limit is {@link FrameCodec#PRE_HANDSHAKE_MAX_FRAME_BYTES}; a body is allocated as
 * its bytes arrive, never from its prefix. A listener holds at most {@code maxUnauthenticated}
 * connections that have not completed the handshake (at the cap a new one closes the oldest),
 * {@code maxUnauthenticatedPerAddress} of them per remote address, and {@code
 * maxConnectionsPerAddress} connections in all per remote address; a refused or closed one gets
 * ERROR {@code BUSY} (TLS ones still in the TLS handshake are closed without it: saying why would
 * take the rest of the handshake). A TLS connection counts as unauthenticated from its accept, so
 * a peer stalling in the TLS handshake meets the same caps and the same {@code handshakeTimeout}.
 * Each connection's outgoing queue is bounded ({@code maxQueuedBytes}) and a peer too slow to
 * drain it is disconnected. What it receives is bounded by flow control: once the frames handed
 * to its handlers and not yet handled pass {@code inboundHighWaterBytes}, the connection is not
 * read (nor idle-timed out) until they fall to half of that, so a peer sending faster than this
 * side handles waits on its own socket instead of growing this side's memory. A connection
 * receiving no frame within {@code idleTimeout} is closed
 * (connecting sides send HEARTBEATs to stay alive), and one not through the handshake within
 * {@code handshakeTimeout} too.
 *
 * <h2>Shutdown</h2>
 *
 * {@link #close()} closes every listener and connection and waits (briefly, bounded) for their
 * threads to end; it is idempotent. Safe for concurrent use.
 *
 * @since 0.1
 */
public final class TcpTransport implements Transport, SessionTransport {
  private static final Logger log = LoggerFactory.getLogger(TcpTransport.class);

  /** {@link Builder#maxUnauthenticated} by default. */
  public static final int DEFAULT_MAX_UNAUTHENTICATED = 256;

  /** {@link Builder#maxUnauthenticatedPerAddress} by default. */
  public static final int DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS = 16;

  /** {@link Builder#maxConnectionsPerAddress} by default. */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 4096;

  private final byte[] secret;
  private final String localId;
  private final String role;
  private final List<String> capabilities;
  private final Long cpuSlots;
  private final Long memoryMb;
  private final InetAddress bindAddress;
  private final FrameCodec codec;
  private final long maxQueuedBytes;
  private final long inboundHighWaterBytes;
  private volatile long lastSweepNanos;
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
  private volatile Thread timerThread; // joined by close(): awaitTermination does not wait for it
  private final Set<PeerConnection> connections = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Admission<PeerConnection> admission;
  private final Object loopLock = new Object();
  private NioLoop loop; // guarded by loopLock; started by the first listen or connect
  private final Object poolLock = new Object();
  private SerialExecutor.Pool handlerPool; // guarded by poolLock
  private SerialExecutor.Pool tlsPool; // guarded by poolLock

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
    this.inboundHighWaterBytes = b.inboundHighWaterBytes;
    this.idleTimeout = b.idleTimeout;
    this.handshakeTimeout = b.handshakeTimeout;
    this.heartbeatInterval =
        b.heartbeatInterval != null ? b.heartbeatInterval : idleTimeout.dividedBy(3);
    this.automaticHeartbeats = b.automaticHeartbeats;
    this.tls = b.tls;
    this.clock = b.clock;
    this.minor = b.minor;
    this.admission = new Admission<>(b.maxUnauthenticated, b.maxUnauthenticatedPerAddress,
        b.maxConnectionsPerAddress);
    this.timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "buildnet-net-timer");
              t.setDaemon(true);
              timerThread = t;
              return t;
            });
    timer.setRemoveOnCancelPolicy(true);
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.sweeps = (task, delayNanos) -> timer.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
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
    return listenOnLoop(address, acceptor);
  }

  /** Accepted, read and written (TLS included) by the selector loop; no thread per connection. */
  private Listener listenOnLoop(InetSocketAddress address, Acceptor acceptor) throws IOException {
    NioLoop l = loop();
    ServerSocketChannel server = ServerSocketChannel.open();
    try {
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(address, 1024);
      server.configureBlocking(false);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
    }
    LoopListener listener = new LoopListener(server, acceptor, l);
    CompletableFuture<Void> registered = new CompletableFuture<>();
    l.execute(() -> {
      try {
        server.register(l.selector(), SelectionKey.OP_ACCEPT, (NioLoop.Io) listener::ready);
        registered.complete(null);
      } catch (IOException | RuntimeException e) {
        registered.completeExceptionally(e);
      }
    });
    try {
      registered.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      closeQuietly(server);
      throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
    }
    loopListeners.add(listener);
    log.info("listening on {}{}", listener.localAddress(), tls == null ? "" : " (TLS)");
    return listener;
  }

  private NioLoop loop() throws IOException {
    synchronized (loopLock) {
      if (loop == null) {
        long shortest = Math.min(idleTimeout.toNanos(), handshakeTimeout.toNanos());
        long sweep = Math.max(TimeUnit.MILLISECONDS.toNanos(5),
            Math.min(TimeUnit.MILLISECONDS.toNanos(250), shortest / 10));
        NioLoop l = new NioLoop(sweep, () -> sweep(loop));
        l.start();
        loop = l;
      }
      return loop;
    }
  }

  private void sweep(NioLoop l) {
    long now = System.nanoTime();
    for (PeerConnection c : List.copyOf(l.connections())) {
      c.sweep(now);
    }
    lastSweepNanos = now;
  }

  /** When the loop last swept idle deadlines ({@link System#nanoTime}); 0 before (for tests). */
  long lastSweepNanos() {
    return lastSweepNanos;
  }

  /** The connections open now, accepted or opened (for tests). */
  List<PeerConnection> openConnections() {
    return List.copyOf(connections);
  }

  private final Set<LoopListener> loopListeners = ConcurrentHashMap.newKeySet();

  private final class LoopListener implements Listener {
    final ServerSocketChannel server;
    final Acceptor acceptor;
    final NioLoop loop;
    final InetSocketAddress address;
    final AtomicBoolean closed = new AtomicBoolean();

    LoopListener(ServerSocketChannel server, Acceptor acceptor, NioLoop loop) throws IOException {
      this.server = server;
      this.acceptor = acceptor;
      this.loop = loop;
      this.address = (InetSocketAddress) server.getLocalAddress();
    }

    /** On the loop: accepts what is waiting (a bounded number, so reads are not starved). */
    void ready(SelectionKey key) {
      for (int i = 0; i < 256; i++) {
        SocketChannel ch;
        try {
          ch = server.accept();
        } catch (IOException e) {
          if (!closed.get()) {
            log.warn("listener {} cannot accept: {}", address, e.toString());
          }
          return;
        }
        if (ch == null) {
          return;
        }
        PeerConnection c;
        try {
          ch.configureBlocking(false);
          ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
          c = new PeerConnection(TcpTransport.this, ch, loop, tls == null ? null : engine(ch));
        } catch (IOException | RuntimeException e) {
          log.warn("cannot set up a connection: {}", e.toString());
          closeQuietly(ch);
          continue;
        }
        try {
          c.register(handshakeTimeout);
        } catch (IOException | RuntimeException e) {
          log.warn("cannot set up a connection from {}: {}", c, e.toString());
          c.close(e);
          continue;
        }
        c.acceptor = acceptor;
        admitOrRefuse(c);
      }
    }

    @Override
    public InetSocketAddress localAddress() {
      return address;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        closeQuietly(server); // its key is cancelled at the loop's next select
        loopListeners.remove(this);
      }
    }
  }

  private SSLEngine engine(SocketChannel ch) throws IOException {
    InetSocketAddress peer = (InetSocketAddress) ch.getRemoteAddress();
    SSLEngine e = tls.createSSLEngine(peer.getAddress().getHostAddress(), peer.getPort());
    e.setUseClientMode(false);
    return e;
  }

  // ---- admission -------------------------------------------------------------------------------

  /**
   * Counts a new connection against the caps ({@link Admission}), or refuses it with ERROR BUSY;
   * at the cap of unauthenticated connections the oldest is closed (ERROR BUSY) to make room.
   */
  private void admitOrRefuse(PeerConnection c) {
    connections.add(c);
    Admission.Decision<PeerConnection> d = admission.admit(c, c.remoteAddress().getAddress());
    if (d.evicted() != null) {
      refuse(d.evicted(), d.evictionReason());
    }
    if (d.refusal() != null) {
      refuse(c, d.refusal());
    }
  }

  private void refuse(PeerConnection c, String reason) {
    log.warn("refused connection from {}: {}", c, reason);
    ProtocolException cause = new ProtocolException(ErrorCode.BUSY, reason);
    // Over TLS before its handshake is through, sendAndClose closes without saying why.
    c.sendAndClose(new ErrorReply(null, ErrorCode.BUSY.code(), reason, true), cause);
  }

  /** How many connections are waiting for their handshake (tests and metrics). */
  int unauthenticatedCount() {
    return admission.unauthenticatedCount();
  }

  // ---- the listener's side of the handshake ----------------------------------------------------

  /** A frame before the handshake completed, on the loop. */
  void handshakeFrame(PeerConnection c, Message m) {
    try {
      if (c.stage == PeerConnection.Stage.AWAIT_HELLO) {
        hello(c, m);
      } else {
        proof(c, m);
      }
    } catch (IOException e) {
      c.close(e);
    }
  }

  /** A bad frame before the handshake completed. */
  void handshakeError(PeerConnection c, ProtocolException e) {
    if (c.stage == PeerConnection.Stage.AWAIT_PROOF) {
      refuse(c, c.handshakeHello, ErrorCode.AUTH_FAILED,
          "authentication proof missing: the AUTH_PROOF frame was invalid (" + e.getMessage() + ")");
    } else {
      c.failAndClose(e.code(), e.getMessage(), e.messageId(), e);
    }
  }

  private void hello(PeerConnection c, Message first) throws IOException {
    if (!(first.payload() instanceof Hello)) {
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
    c.handshakeHello = first;
    c.handshakeNonce = nonce;
    c.stage = PeerConnection.Stage.AWAIT_PROOF;
    c.handshakeSend(new AuthChallenge(first.id(), nonce));
  }

  private void proof(PeerConnection c, Message second) throws IOException {
    Message first = c.handshakeHello;
    Hello hello = (Hello) first.payload();
    byte[] nonce = c.handshakeNonce;
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
    c.handshakeHello = null;
    c.handshakeNonce = null;
    admission.authenticated(c);
    c.opened();
    c.handshakeSend(
        new HelloAck(first.id(), true, minor, localId,
            Auth.serverProof(secret, hello.nonce(), nonce, localId), null, null,
            heartbeatInterval.isZero() ? null : Math.max(1, heartbeatInterval.toMillis()),
            blobAlgorithm));
    c.peerRuntime(first.runtime());
    c.established(hello, hello.peerId(), (int) Math.min(Integer.MAX_VALUE, hello.minor()), null);
    Handler h;
    try {
      h = Objects.requireNonNull(c.acceptor.accept(c), "the acceptor returned no handler");
    } catch (RuntimeException e) {
      log.error("acceptor failed for {}", c, e);
      c.failAndClose(ErrorCode.INTERNAL, "the listener could not take the connection", null, e);
      return;
    }
    c.acceptor = null;
    c.established(hello, hello.peerId(), (int) Math.min(Integer.MAX_VALUE, hello.minor()), h);
    log.info("accepted {} {} (runtime {}, minor {})", hello.role(), c, first.runtime(), hello.minor());
  }

  private void refuse(PeerConnection c, Message hello, ErrorCode code, String reason) {
    log.warn("refused connection from {}: {}", c, reason);
    c.sendAndClose(
        new HelloAck(hello.id(), false, minor, localId, null, (long) code.code(), reason, null),
        new ProtocolException(code, reason));
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
    NioLoop l = loop();
    SocketChannel ch = SocketChannel.open();
    PeerConnection c;
    byte[] nonce = Auth.nonce(random);
    PeerConnection.Connecting handshake = new PeerConnection.Connecting(nonce, handler);
    try {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      // Blocking, for its timeout; then the loop reads and writes it like an accepted one.
      ch.socket().connect(address, (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
      ch.configureBlocking(false);
      c = new PeerConnection(this, ch, l, tls == null ? null : clientEngine(address), handshake);
    } catch (IOException | RuntimeException e) {
      closeQuietly(ch);
      throw new IOException("cannot connect to " + address + ": " + e.getMessage(), e);
    }
    connections.add(c);
    Duration left = timeout.minusNanos(System.nanoTime() - start);
    if (left.isNegative() || left.isZero()) {
      left = Duration.ofMillis(1);
    }
    Message hello = c.message(new Hello(role, localId, minor, nonce, capabilities, cpuSlots, memoryMb));
    Duration handshakeLeft = left;
    String why = "handshake not completed within " + timeout;
    l.execute(() -> {
      try {
        c.startConnecting(handshakeLeft, why, hello);
      } catch (IOException | RuntimeException e) {
        c.close(e);
      }
    });
    HelloAck ack;
    try {
      ack = handshake.result.get(left.toNanos(), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      c.close(new ProtocolException(ErrorCode.TIMEOUT, why));
      throw new IOException("handshake with " + address + " failed: " + why);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      c.close(cause);
      String message = "handshake with " + address + " failed: " + cause.getMessage();
      if (cause instanceof HandshakeRefusedException r) {
        throw new HandshakeRefusedException(message, r.detail());
      }
      throw new IOException(message, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      c.close(e);
      throw new java.io.InterruptedIOException("interrupted while connecting to " + address);
    }
    Duration interval = heartbeatInterval;
    if (ack.heartbeatMs() != null
        && (interval.isZero() || ack.heartbeatMs() < interval.toMillis())) {
      interval = Duration.ofMillis(ack.heartbeatMs()); // the listener's idle timeout rules
    }
    if (automaticHeartbeats && !interval.isZero()) {
      scheduleHeartbeat(c, interval);
    }
    return c;
  }

  /**
   * A client-mode engine that checks the listener's certificate against the host name (or
   * address) connected to, as HTTPS does; the host name also goes out as SNI.
   */
  private SSLEngine clientEngine(InetSocketAddress address) {
    SSLEngine e = tls.createSSLEngine(address.getHostString(), address.getPort());
    e.setUseClientMode(true);
    SSLParameters params = e.getSSLParameters();
    params.setEndpointIdentificationAlgorithm("HTTPS");
    e.setSSLParameters(params);
    return e;
  }

  /**
   * A frame before HELLO_ACK on a connection this side opened, on the loop: answers the
   * challenge, then checks HELLO_ACK (accepted, with the listener's proof) and opens the
   * connection with the caller's handler before any later frame is read; anything else closes it,
   * failing {@code connect} with why.
   */
  void connectFrame(PeerConnection c, Message reply) {
    PeerConnection.Connecting k = c.connecting();
    try {
      if (reply.payload() instanceof AuthChallenge challenge && k.serverNonce == null) {
        k.serverNonce = challenge.nonce();
        c.send(new AuthProof(reply.id(),
            Auth.clientProof(secret, challenge.nonce(), k.nonce, role, localId)));
        return;
      }
      if (reply.payload() instanceof ErrorReply e) {
        String detail = new RemoteErrorException(e).getMessage();
        throw new HandshakeRefusedException("refused: " + detail, detail);
      }
      if (!(reply.payload() instanceof HelloAck ack)) {
        throw new IOException("expected HELLO_ACK but got " + reply.type());
      }
      if (!ack.accepted()) {
        String code = ErrorCode.fromCode(ack.errorCode()).map(Enum::name)
            .orElse(String.valueOf(ack.errorCode()));
        throw new HandshakeRefusedException(
            "refused by " + ack.peerId() + " (" + code + "): " + ack.reason(),
            code + ": " + ack.reason());
      }
      // An accepting HELLO_ACK without a challenge first, or with a wrong proof, is an impostor.
      if (k.serverNonce == null
          || !Auth.matches(Auth.serverProof(secret, k.nonce, k.serverNonce, ack.peerId()), ack.proof())) {
        throw new IOException(
            "the listener '" + ack.peerId() + "' could not prove it knows the shared secret");
      }
      c.peerBlobAlgorithm(ack.blobAlgorithm());
      c.established(null, ack.peerId(), (int) Math.min(Integer.MAX_VALUE, ack.minor()), k.handler);
      c.opened();
      k.result.complete(ack);
    } catch (IOException | RuntimeException e) {
      c.close(e);
    }
  }

  private void scheduleHeartbeat(PeerConnection c, Duration interval) {
    long period = interval.toNanos();
    ScheduledFuture<?>[] task = new ScheduledFuture<?>[1];
    task[0] =
        timer.scheduleWithFixedDelay(
            () -> {
              long now = System.nanoTime();
              if (!c.isOpen()) {
                task[0].cancel(false);
              } else if (now - c.lastSentNanos() >= period / 2
                  || now - c.lastReceivedNanos() >= period / 2) {
                // Also while sending: a long upload gets no reply until its end, and this side's
                // own idle timeout would close the connection if no HEARTBEAT_ACK came back.
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

  long inboundHighWaterBytes() {
    return inboundHighWaterBytes;
  }

  Duration idleTimeout() {
    return idleTimeout;
  }

  /**
   * The timer for connections' reply-deadline sweeps: unlike {@link #schedule}, it throws {@link
   * java.util.concurrent.RejectedExecutionException} once closed rather than running the task.
   */
  PendingReplies.Timer sweeps() {
    return sweeps;
  }

  private final PendingReplies.Timer sweeps;

  /** Runs {@code task} after {@code delay}; cancel the returned future if it is no longer due. */
  java.util.concurrent.Future<?> schedule(Runnable task, Duration delay) {
    try {
      return timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      task.run(); // closed: run now, the connection is closed too
      return CompletableFuture.completedFuture(null);
    }
  }

  /** The pool running handlers that are not {@link InlineHandler}s, one connection at a time. */
  Executor handlerPool() {
    synchronized (poolLock) {
      if (handlerPool == null) {
        handlerPool = SerialExecutor.pool("buildnet-net-handler", 64);
        if (closed.get()) {
          handlerPool.shutdown();
        }
      }
      return handlerPool;
    }
  }

  /**
   * The pool running TLS handshakes' delegated tasks (key exchange, certificate checks) off the
   * selector loop: at most one thread per core, since the work is CPU-bound; idle threads end.
   */
  Executor tlsPool() {
    synchronized (poolLock) {
      if (tlsPool == null) {
        tlsPool = SerialExecutor.pool(
            "buildnet-net-tls", Math.max(1, Runtime.getRuntime().availableProcessors()));
        if (closed.get()) {
          tlsPool.shutdown();
        }
      }
      return tlsPool;
    }
  }

  void forget(PeerConnection c) {
    admission.released(c);
    connections.remove(c);
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
    List.copyOf(loopListeners).forEach(LoopListener::close);
    List<PeerConnection> open = List.copyOf(connections);
    open.forEach(PeerConnection::close);
    timer.shutdownNow();
    NioLoop l;
    synchronized (loopLock) {
      l = loop;
    }
    SerialExecutor.Pool pool;
    SerialExecutor.Pool tlsTasks;
    synchronized (poolLock) {
      pool = handlerPool;
      tlsTasks = tlsPool;
    }
    try {
      if (l != null) {
        l.close(5000);
      }
      if (pool != null) {
        pool.shutdownAndJoin(5000); // after the loop: its last tasks may queue onClose callbacks
      }
      if (tlsTasks != null) {
        tlsTasks.shutdownAndJoin(5000);
      }
      timer.awaitTermination(5, TimeUnit.SECONDS);
      Thread tt = timerThread;
      if (tt != null && tt != Thread.currentThread()) {
        tt.join(5000);
      }
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
   * Configures a {@link TcpTransport}. {@link #transport} and {@link #localId} are required; the rest
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
    private long inboundHighWaterBytes = 16L << 20;
    private Duration idleTimeout = Duration.ofSeconds(60);
    private Duration handshakeTimeout = Duration.ofSeconds(10);
    private Duration heartbeatInterval;
    private String blobAlgorithm;
    private boolean automaticHeartbeats = true;
    private SSLContext tls;
    private Clock clock = Clock.systemUTC();
    private int minor = Protocol.MINOR;
    private int maxUnauthenticated = DEFAULT_MAX_UNAUTHENTICATED;
    private int maxUnauthenticatedPerAddress = DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS;
    private int maxConnectionsPerAddress = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;

    private Builder() {}

    /**
     * How many accepted connections may be waiting for their handshake at once; 256 by default.
     * At the cap a new connection closes the oldest waiting one (ERROR {@code BUSY}).
     */
    public Builder maxUnauthenticated(int max) {
      this.maxUnauthenticated = atLeastOne("maxUnauthenticated", max);
      return this;
    }

    /**
     * How many connections from one remote address may be waiting for their handshake at once;
     * 16 by default. One more is refused with ERROR {@code BUSY}.
     */
    public Builder maxUnauthenticatedPerAddress(int max) {
      this.maxUnauthenticatedPerAddress = atLeastOne("maxUnauthenticatedPerAddress", max);
      return this;
    }

    /**
     * How many connections, authenticated or not, one remote address may hold; 4096 by default.
     * One more is refused with ERROR {@code BUSY}.
     */
    public Builder maxConnectionsPerAddress(int max) {
      this.maxConnectionsPerAddress = atLeastOne("maxConnectionsPerAddress", max);
      return this;
    }

    private static int atLeastOne(String name, int max) {
      if (max < 1) {
        throw new IllegalArgumentException(name + " must be at least 1 but was " + max);
      }
      return max;
    }

    /**
     * The secret, TLS context, handshake timeout and frame limit of {@code settings} (its
     * heartbeat settings are the master's business: see {@link #heartbeatInterval} and {@link
     * #idleTimeout}). Required.
     */
    public Builder transport(TransportSettings settings) {
      if (this.secret != null) {
        throw new IllegalStateException("transport was already set");
      }
      Objects.requireNonNull(settings, "settings");
      byte[] s = settings.secret();
      Auth.checkSecret(s);
      FrameCodec.withMaxFrameBytes(settings.maxFrameBytes());
      this.secret = s;
      this.tls = settings.tls().orElse(null);
      this.handshakeTimeout = settings.handshakeTimeout();
      this.maxFrameBytes = settings.maxFrameBytes();
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

    /** Bytes queued for one peer before it counts as too slow and is disconnected; 64 MiB. */
    public Builder maxQueuedBytes(long max) {
      if (max < 1024) {
        throw new IllegalArgumentException("maxQueuedBytes must be at least 1024 but was " + max);
      }
      this.maxQueuedBytes = max;
      return this;
    }

    /**
     * Bytes of received frames that one connection's handlers may have queued and not yet handled
     * before the connection stops being read (it is read again once they fall to half); 16 MiB by
     * default. A frame is accepted whatever its size while reading is on, so the backlog stays
     * under this plus one frame, and a frame larger than this still gets through.
     */
    public Builder inboundHighWaterBytes(long bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException(
            "inboundHighWaterBytes must be at least 1024 but was " + bytes);
      }
      this.inboundHighWaterBytes = bytes;
      return this;
    }

    /** A connection receiving no frame for this long is closed; 60 s by default. */
    public Builder idleTimeout(Duration timeout) {
      this.idleTimeout = positive("idleTimeout", timeout);
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
     * How often a connecting side sends HEARTBEAT when it has sent or received nothing else; a third of the
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

    /**
     * The built-in TCP transport when {@code carrier} is null; otherwise the BuildNet session
     * layer (handshake, request/reply matching, heartbeats) over the host's {@code carrier}, with
     * this builder's secret, id, role, heartbeat interval, handshake timeout, blob algorithm,
     * clock, admission caps ({@link #maxUnauthenticated} and the per-address ones) and {@link
     * #inboundHighWaterBytes} (past it, the host's delivery thread is blocked instead of reading
     * being paused). (The TLS context and frame limit are the TCP transport's; a host's transport secures
     * and bounds its own channel.)
     */
    public SessionTransport build(Transport carrier) {
      if (carrier == null) {
        return build();
      }
      if (secret == null) {
        throw new IllegalStateException(
            "transport(...) with the secret is required: BuildNet never runs unauthenticated");
      }
      if (localId == null) {
        throw new IllegalStateException("localId is required");
      }
      Duration interval = heartbeatInterval != null ? heartbeatInterval : idleTimeout.dividedBy(3);
      return new FramedTransport(carrier, secret, localId, role, capabilities, cpuSlots, memoryMb,
          handshakeTimeout, interval, automaticHeartbeats, blobAlgorithm, clock, minor,
          maxUnauthenticated, maxUnauthenticatedPerAddress, maxConnectionsPerAddress,
          inboundHighWaterBytes);
    }

    public TcpTransport build() {
      if (secret == null) {
        throw new IllegalStateException(
            "transport(...) with the secret is required: BuildNet never runs unauthenticated");
      }
      if (localId == null) {
        throw new IllegalStateException("localId is required");
      }
      return new TcpTransport(this);
    }
  }
}
