package dev.buildnet.internal.transport;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Auth;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.AuthChallenge;
import dev.buildnet.internal.protocol.Payloads.AuthProof;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Payloads.HelloAck;
import dev.buildnet.internal.protocol.Protocol;
import dev.buildnet.internal.protocol.ProtocolException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link Session} over a connection of a host's {@link Transport} (see {@link
 * FramedTransport}): it runs the handshake, then matches replies to requests, answers heartbeats,
 * and hands every other message to the role's handler. Before the handshake completes, nothing
 * reaches the role: a listener answers only HELLO and AUTH_PROOF, and closes the connection on
 * anything else, on a wrong proof, or when {@code handshakeTimeout} passes.
 *
 * <p>Messages arrive on the host transport's thread, one at a time per connection (the {@link
 * Transport} contract); the role's handler runs there too.
 *
 * <p>Inbound is bounded by blocking that thread: what the role's handler keeps to handle later
 * ({@link #holdInbound}) is counted, and once it passes the transport's {@code
 * inboundHighWaterBytes} the delivery thread does not return to the transport until it falls to
 * half, or the connection closes. The {@link Transport} contract lets a handler block its own
 * connection; a transport reading a socket on that thread stops reading it, so TCP flow control
 * pushes back on the peer, as the TCP transport's paused reading does. Meanwhile nothing else of
 * that peer is delivered either: its heartbeats and the replies to requests this side sent it
 * wait too. This session has no receive deadline of its own (the TCP transport's idle timeout is
 * the one suspended while paused), so it never closes a connection for the silence it causes;
 * the master's liveness check counts handled backlog as hearing from the worker.
 */
final class FramedSession implements Session, Transport.Connection.Handler {
  private static final Logger log = LoggerFactory.getLogger(FramedSession.class);

  private enum Stage { AWAIT_CHALLENGE, AWAIT_ACK, AWAIT_HELLO, AWAIT_PROOF, OPEN }

  /** How often a blocked delivery thread looks whether the transport closed the connection. */
  private static final long CLOSE_POLL_MILLIS = 500;


  private final FramedTransport t;
  private final boolean listening;
  private final Transport.Acceptor acceptor;
  private final PendingReplies pending = new PendingReplies();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean notified = new AtomicBoolean();
  private final CompletableFuture<Void> handshake = new CompletableFuture<>();
  private volatile Transport.Connection conn;
  private volatile Transport.Connection.Handler handler;
  private volatile Stage stage;
  private volatile long lastSentNanos = System.nanoTime();
  private volatile Future<?> timerTask;
  // handshake state, touched only on the connection's delivery thread (and before it starts)
  private byte[] nonce;
  private byte[] peerNonce;
  private Message helloMessage;
  // who the peer is, set once the handshake is through
  private volatile String peerId;
  private volatile Hello peerHello;
  private volatile String peerRuntime;
  private volatile String peerBlobAlgorithm;
  private volatile int peerMinor;
  private volatile Long listenerHeartbeatMs;
  // Inbound back-pressure (see holdInbound). deliveryThread and delivering are set by the thread
  // delivering a message to the role's handler, for the length of that call.
  private final AtomicLong heldBytes = new AtomicLong();
  private final Object drained = new Object(); // the blocked delivery thread waits on it
  private volatile Thread deliveryThread;
  private Message delivering;
  private volatile Thread blocked; // the delivery thread while it waits for the backlog to drain

  FramedSession(FramedTransport t, boolean listening, Transport.Connection.Handler handler,
      Transport.Acceptor acceptor) {
    this.t = t;
    this.listening = listening;
    this.handler = handler;
    this.acceptor = acceptor;
  }

  // ---- connecting side -------------------------------------------------------------------------

  void connect(InetSocketAddress address, Duration timeout) throws IOException {
    long start = System.nanoTime();
    stage = Stage.AWAIT_CHALLENGE;
    Transport.Connection c = t.carrier.connect(address, timeout, this);
    if (conn == null) {
      conn = c;
    }
    nonce = Auth.nonce(t.random);
    Message hello = message(new Hello(t.role, t.localId, t.minor, nonce, t.capabilities,
        t.cpuSlots, t.memoryMb));
    sendRaw(hello);
    long left = timeout.toNanos() - (System.nanoTime() - start);
    try {
      handshake.get(Math.max(1, left), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new IOException("handshake with " + address + " failed: no HELLO_ACK within " + timeout);
    } catch (ExecutionException e) {
      throw new IOException("handshake with " + address + " failed: " + e.getCause().getMessage(),
          e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while connecting to " + address, e);
    }
    Duration interval = t.heartbeatInterval;
    Long told = listenerHeartbeatMs;
    if (told != null && (interval.isZero() || told < interval.toMillis())) {
      interval = Duration.ofMillis(told); // the listener's liveness timeout rules
    }
    if (t.automaticHeartbeats && !interval.isZero()) {
      long period = interval.toNanos();
      timerTask = t.timer.scheduleWithFixedDelay(() -> {
        if (isOpen() && System.nanoTime() - lastSentNanos >= period / 2) {
          send(new Heartbeat(null));
        }
      }, period, period, TimeUnit.NANOSECONDS);
    }
  }

  private void connectingFrame(Message m) {
    Payload p = m.payload();
    if (p instanceof ErrorReply e) {
      String detail = new RemoteErrorException(e).getMessage();
      refused(new HandshakeRefusedException("refused: " + detail, detail));
    } else if (stage == Stage.AWAIT_CHALLENGE && p instanceof AuthChallenge challenge) {
      peerNonce = challenge.nonce();
      stage = Stage.AWAIT_ACK;
      sendRaw(message(new AuthProof(m.id(),
          Auth.clientProof(t.secret, challenge.nonce(), nonce, t.role, t.localId))));
    } else if (p instanceof HelloAck ack && !ack.accepted()) {
      String code =
          ErrorCode.fromCode(ack.errorCode()).map(Enum::name).orElse(String.valueOf(ack.errorCode()));
      refused(new HandshakeRefusedException(
          "refused by " + ack.peerId() + " (" + code + "): " + ack.reason(),
          code + ": " + ack.reason()));
    } else if (p instanceof HelloAck ack && stage == Stage.AWAIT_ACK) {
      // An accepting HELLO_ACK without a challenge first, or with a wrong proof, is an impostor.
      if (!Auth.matches(Auth.serverProof(t.secret, nonce, peerNonce, ack.peerId()), ack.proof())) {
        handshakeFailed(
            "the listener '" + ack.peerId() + "' could not prove it knows the shared secret");
        return;
      }
      peerId = ack.peerId();
      peerMinor = (int) Math.min(Integer.MAX_VALUE, ack.minor());
      peerBlobAlgorithm = ack.blobAlgorithm();
      listenerHeartbeatMs = ack.heartbeatMs();
      nonce = null;
      peerNonce = null;
      // Before returning to the transport: the listener's next frame may be a large one.
      liftFrameLimit();
      stage = Stage.OPEN;
      handshake.complete(null);
    } else {
      handshakeFailed("expected " + (stage == Stage.AWAIT_CHALLENGE ? "AUTH_CHALLENGE" : "HELLO_ACK")
          + " but got " + m.type());
    }
  }

  private void handshakeFailed(String why) {
    refused(new IOException(why));
  }

  private void refused(IOException e) {
    handshake.completeExceptionally(e);
    close();
  }

  // ---- listening side --------------------------------------------------------------------------

  void accepted(Transport.Connection c) {
    conn = c;
    stage = Stage.AWAIT_HELLO;
    try {
      timerTask = t.timer.schedule(() -> {
        if (stage != Stage.OPEN && !closed.get()) {
          log.warn("closing {}: no handshake within {}", this, t.handshakeTimeout);
          close(new ProtocolException(ErrorCode.AUTH_FAILED,
              "no handshake within " + t.handshakeTimeout));
        }
      }, t.handshakeTimeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      close();
    }
  }

  private void listeningFrame(Message m) {
    if (stage == Stage.AWAIT_HELLO) {
      if (!(m.payload() instanceof Hello)) {
        failAndClose(ErrorCode.UNEXPECTED_MESSAGE, "expected HELLO but got " + m.type(), m.id());
        return;
      }
      if (m.version() != Protocol.MAJOR) {
        refuse(m, ErrorCode.UNSUPPORTED_VERSION, "protocol major version " + m.version()
            + " is not supported; this peer speaks " + Protocol.MAJOR + "." + t.minor);
        return;
      }
      nonce = Auth.nonce(t.random);
      helloMessage = m;
      stage = Stage.AWAIT_PROOF;
      sendRaw(message(new AuthChallenge(m.id(), nonce)));
      return;
    }
    Message first = helloMessage;
    Hello hello = (Hello) first.payload();
    if (!(m.payload() instanceof AuthProof proof)) {
      refuse(first, ErrorCode.AUTH_FAILED,
          "authentication proof missing: expected AUTH_PROOF but got " + m.type());
      return;
    }
    byte[] expected = Auth.clientProof(t.secret, nonce, hello.nonce(), hello.role(), hello.peerId());
    if (!Auth.matches(expected, proof.proof())) {
      refuse(first, ErrorCode.AUTH_FAILED, "authentication failed: wrong proof for " + hello.role()
          + " '" + hello.peerId() + "' (the shared secrets differ)");
      return;
    }
    byte[] serverNonce = nonce;
    nonce = null;
    helloMessage = null;
    peerHello = hello;
    peerId = hello.peerId();
    peerRuntime = first.runtime();
    peerMinor = (int) Math.min(Integer.MAX_VALUE, hello.minor());
    Future<?> deadline = timerTask;
    if (deadline != null) {
      deadline.cancel(false);
    }
    Transport.Connection.Handler h;
    try {
      h = Objects.requireNonNull(acceptor.accept(this), "the acceptor returned no handler");
    } catch (RuntimeException e) {
      log.error("acceptor failed for {}", this, e);
      failAndClose(ErrorCode.INTERNAL, "the listener could not take the connection", null);
      return;
    }
    handler = h;
    t.authenticated(this);
    // Before the HELLO_ACK: the peer may send a large frame as soon as it has read it.
    liftFrameLimit();
    Duration hb = t.heartbeatInterval;
    sendRaw(message(new HelloAck(first.id(), true, t.minor, t.localId,
        Auth.serverProof(t.secret, hello.nonce(), serverNonce, t.localId), null, null,
        hb.isZero() ? null : Math.max(1, hb.toMillis()), t.blobAlgorithm)));
    // Only now may the role send (send() checks the stage): nothing it sends can go out before
    // the HELLO_ACK, which the peer's limit and handshake both need first.
    stage = Stage.OPEN;
    log.info("accepted {} {} (runtime {}, minor {})", hello.role(), this, first.runtime(), hello.minor());
  }

  private void refuse(Message hello, ErrorCode code, String reason) {
    log.warn("refused connection from {}: {}", this, reason);
    sendAndClose(message(new HelloAck(hello.id(), false, t.minor, t.localId, null,
        (long) code.code(), reason, null)), new ProtocolException(code, reason));
  }

  /** Refused by the listener's caps: ERROR BUSY, then close. */
  void refuseBusy(String reason) {
    log.warn("refused connection from {}: {}", this, reason);
    sendAndClose(message(new ErrorReply(null, ErrorCode.BUSY.code(), reason, true)),
        new ProtocolException(ErrorCode.BUSY, reason));
  }

  private void failAndClose(ErrorCode code, String message, String replyTo) {
    log.warn("closing {}: {} {}", this, code, message);
    sendAndClose(message(new ErrorReply(replyTo, code.code(), message, true)),
        new ProtocolException(code, message));
  }

  /** Tells the peer why, then closes; never waits long for a peer that does not read. */
  private void sendAndClose(Message m, Throwable cause) {
    CompletableFuture<Void> sent;
    try {
      sent = conn.send(m);
    } catch (RuntimeException e) {
      close(cause);
      return;
    }
    sent.orTimeout(2, TimeUnit.SECONDS).whenComplete((ok, e) -> close(cause));
  }

  // ---- both sides ------------------------------------------------------------------------------

  /** Tells the host's connection its peer is through the handshake (it lifts its frame limit). */
  private void liftFrameLimit() {
    try {
      conn.authenticated();
    } catch (RuntimeException e) {
      // The transport's own fault; its limit stays low, which refuses large frames, never admits.
      log.warn("{}: the transport's authenticated() failed", this, e);
    }
  }

  @Override
  public void onMessage(Transport.Connection connection, Message m) {
    if (conn == null) {
      conn = connection; // a transport may deliver before its connect() has returned
    }
    if (closed.get()) {
      return;
    }
    Stage s = stage;
    if (s != Stage.OPEN) {
      if (listening) {
        listeningFrame(m);
      } else {
        connectingFrame(m);
      }
      return;
    }
    dispatch(m);
    awaitBacklog();
  }

  private void dispatch(Message m) {
    if (m.version() != Protocol.MAJOR) {
      failAndClose(ErrorCode.UNSUPPORTED_VERSION, "message of protocol major version "
          + m.version() + " on a " + Protocol.MAJOR + ".x connection", m.id());
      return;
    }
    Payload p = m.payload();
    if (m.type() == MessageType.HEARTBEAT) {
      deliver(m); // the handler sees it first (a master records liveness), so the ack follows
      send(new Payloads.HeartbeatAck(m.id()));
      return;
    }
    if (p instanceof Payloads.Reply r && r.replyTo() != null) {
      if (pending.offer(r.replyTo(), m)) {
        return;
      }
      if (m.type() == MessageType.HEARTBEAT_ACK) {
        return;
      }
    }
    switch (m.type()) {
      case HELLO, HELLO_ACK, AUTH_CHALLENGE, AUTH_PROOF -> {
        send(new ErrorReply(m.id(), ErrorCode.UNEXPECTED_MESSAGE.code(),
            m.type() + " after the handshake", false));
        return;
      }
      default -> {}
    }
    deliver(m);
  }

  private void deliver(Message m) {
    delivering = m;
    deliveryThread = Thread.currentThread();
    try {
      handler.onMessage(this, m);
    } catch (RuntimeException e) {
      log.warn("{}: handler failed on {} {}", this, m.type(), m.id(), e);
    } finally {
      deliveryThread = null;
      delivering = null;
    }
  }

  /**
   * For the role's handler, during its {@code onMessage} (on the delivery thread): the message is
   * kept for later, so it counts against this session's inbound backlog until the returned action
   * runs (once, from any thread) when it has been handled. Past the high-water mark, the delivery
   * thread blocks once the handler returns (see the class doc).
   */
  @Override
  public Runnable holdInbound() {
    if (deliveryThread != Thread.currentThread()) {
      throw new IllegalStateException("holdInbound() is for a handler's onMessage, on the thread"
          + " delivering it; it was called on " + Thread.currentThread().getName());
    }
    long n = sizeOf(delivering);
    heldBytes.addAndGet(n);
    AtomicBoolean released = new AtomicBoolean();
    return () -> {
      if (released.compareAndSet(false, true)) {
        release(n);
      }
    };
  }

  /**
   * What a held message counts: the length of its frame, the measure the TCP transport counts
   * from what it read (so one bound means the same on both). A host's transport hands over
   * messages already decoded, without that length, so it is computed again; {@link
   * FrameCodec#encodedSize} counts binary fields without copying them, and runs only for
   * messages a handler holds. The decoded message occupies about as much memory as its frame.
   * One the codec cannot size (it could not have crossed a wire: only an in-process transport
   * delivers it) counts as a largest frame, so the bound errs towards blocking early.
   */
  private static long sizeOf(Message m) {
    try {
      return FrameCodec.encodedSize(m);
    } catch (RuntimeException e) {
      return FrameCodec.PREFIX_BYTES + FrameCodec.DEFAULT_MAX_FRAME_BYTES;
    }
  }

  /** {@code n} held bytes were handled (any thread); at the low-water mark, wakes the delivery. */
  private void release(long n) {
    // Read blocked after the decrement: a thread about to block checks heldBytes after setting it.
    if (heldBytes.addAndGet(-n) <= lowWater() && blocked != null) {
      synchronized (drained) {
        drained.notifyAll();
      }
    }
  }

  private long lowWater() {
    return t.inboundHighWaterBytes / 2;
  }

  /**
   * On the delivery thread, after each message: past the high-water mark, does not return to the
   * transport until the backlog falls to the low-water mark, this session closes ({@link
   * #close(Throwable)} wakes it), or the transport's connection does. The last is polled, since a
   * transport may report a close through {@code onClose} on the very thread blocked here.
   * The handshake and replies matched to requests never reach the handler, so they never block
   * by themselves, and a HEARTBEAT is acknowledged before this waits.
   */
  private void awaitBacklog() {
    if (heldBytes.get() <= t.inboundHighWaterBytes) {
      return;
    }
    log.debug("{}: {} bytes received are not yet handled; delivery blocked", this, heldBytes.get());
    synchronized (drained) {
      blocked = Thread.currentThread();
      try {
        while (heldBytes.get() > lowWater() && !closed.get() && conn.isOpen()) {
          drained.wait(CLOSE_POLL_MILLIS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // the transport is stopping its thread: let it go
      } finally {
        blocked = null;
      }
    }
    log.debug("{}: delivery resumed", this);
  }

  /** Bytes of messages the role's handler holds and has not yet handled (for tests). */
  long heldBytes() {
    return heldBytes.get();
  }

  /** The delivery thread while it is blocked for the backlog, else null (for tests). */
  Thread blockedThread() {
    return blocked;
  }

  @Override
  public void onClose(Transport.Connection connection, Throwable cause) {
    close(cause);
  }

  @Override
  public InetSocketAddress remoteAddress() {
    Transport.Connection c = conn;
    return c == null ? null : c.remoteAddress();
  }

  @Override
  public String peerId() {
    return peerId;
  }

  @Override
  public Hello peerHello() {
    return peerHello;
  }

  @Override
  public String peerRuntime() {
    return peerRuntime;
  }

  @Override
  public String peerBlobAlgorithm() {
    return peerBlobAlgorithm;
  }

  @Override
  public int minorVersion() {
    return Math.min(peerMinor, t.minor);
  }

  @Override
  public boolean isOpen() {
    Transport.Connection c = conn;
    return !closed.get() && c != null && c.isOpen();
  }

  @Override
  public Message message(Payload payload) {
    return new Message(Protocol.MAJOR, payload.type(), MessageIds.base36(ids.incrementAndGet()),
        t.clock.millis(), Protocol.RUNTIME, payload);
  }

  @Override
  public CompletableFuture<Void> send(Message message) {
    if (closed.get() || stage != Stage.OPEN) {
      return CompletableFuture.failedFuture(closedException());
    }
    return sendRaw(message);
  }

  private CompletableFuture<Void> sendRaw(Message message) {
    lastSentNanos = System.nanoTime();
    try {
      return conn.send(message);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public CompletableFuture<Message> request(
      Payload payload, Duration timeout, Consumer<Message> partial) {
    Objects.requireNonNull(timeout, "timeout");
    Message m = message(payload);
    CompletableFuture<Message> future = new CompletableFuture<>();
    PendingReplies.Pending p = pending.register(m.id(), future, partial);
    Runnable expire = () -> pending.fail(m.id(), p, () -> new TimeoutException(m.type()
        + " request " + m.id() + " to " + this + " got no reply within " + timeout
        + "; the peer may still have acted on it"));
    Future<?> timer;
    try {
      timer = t.timer.schedule(expire, timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      timer = null;
      close();
    }
    if (timer != null) {
      Future<?> tm = timer;
      future.whenComplete((reply, e) -> tm.cancel(false));
    }
    send(m).whenComplete((ok, e) -> {
      if (e != null) {
        pending.fail(m.id(), p, () -> e);
      }
    });
    if (closed.get()) {
      pending.fail(m.id(), p, this::closedException);
    }
    return future;
  }

  @Override
  public void close() {
    close(null);
  }

  private void close(Throwable cause) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (drained) {
      drained.notifyAll(); // a delivery thread blocked for the backlog goes back to its transport
    }
    Future<?> task = timerTask;
    if (task != null) {
      task.cancel(false);
    }
    Transport.Connection c = conn;
    if (c != null) {
      try {
        c.close();
      } catch (RuntimeException e) {
        log.debug("{}: closing the transport's connection failed", this, e);
      }
    }
    handshake.completeExceptionally(new IOException(
        "the connection closed during the handshake" + (cause == null ? "" : ": " + cause.getMessage())));
    BuildNetException e = closedException();
    pending.failAll(e);
    t.forget(this);
    Transport.Connection.Handler h = handler;
    if (stage == Stage.OPEN && h != null && notified.compareAndSet(false, true)) {
      try {
        h.onClose(this, cause);
      } catch (RuntimeException ex) {
        log.warn("{}: onClose failed", this, ex);
      }
    }
  }

  private BuildNetException closedException() {
    return new BuildNetException("connection to " + this + " is closed");
  }

  @Override
  public String toString() {
    Transport.Connection c = conn;
    String where = c == null ? "?" : String.valueOf(c.remoteAddress());
    String id = peerId;
    return id == null ? where : id + "@" + where;
  }
}
