package dev.buildnet.transport;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.protocol.ErrorCode;
import dev.buildnet.protocol.FrameCodec;
import dev.buildnet.protocol.FrameReader;
import dev.buildnet.protocol.Payloads;
import dev.buildnet.protocol.Payloads.ErrorReply;
import dev.buildnet.protocol.Payloads.Hello;
import dev.buildnet.protocol.Protocol;
import dev.buildnet.protocol.ProtocolException;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated connection of a {@link TcpTransport}: what its {@code connect} returns and
 * what its listeners hand to the {@link Transport.Acceptor}.
 *
 * <h2>Threads</h2>
 *
 * Each connection has one reader thread ({@code buildnet-net-<peer>}), which runs the handler,
 * completes request futures, and answers HEARTBEAT by itself; and one writer thread ({@code
 * buildnet-net-<peer>-out}) draining a queue bounded in bytes. {@link #send} never blocks: when
 * the queue would exceed its bound the peer is too slow, and the connection is closed rather than
 * letting memory grow. Senders of bulk data (blob chunks) should keep a window: wait for the
 * future of an earlier send before queueing more. All methods are safe for concurrent use;
 * callbacks on the reader thread must not block for long, since they stall this connection.
 *
 * @since 0.1
 */
public final class PeerConnection implements Transport.Connection {
  private static final Logger log = LoggerFactory.getLogger(PeerConnection.class);
  private static final Outgoing POISON = new Outgoing(new byte[0], null);

  private record Outgoing(byte[] frame, CompletableFuture<Void> done) {}

  private record Pending(CompletableFuture<Message> future, Consumer<Message> partial) {}

  private final TcpTransport transport;
  private final Socket socket;
  private final DeadlineInputStream in;
  private final OutputStream out;
  private final FrameCodec codec;
  private final FrameReader reader;
  private final String name;
  private final InetSocketAddress remote;
  private final long idleNanos;
  private final String idleReason; // built once: the deadline is re-armed before every frame
  private final LinkedBlockingQueue<Outgoing> queue = new LinkedBlockingQueue<>();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final List<Thread> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Object writerLock = new Object();
  private volatile boolean writerStarted;
  private volatile Handler handler;
  private volatile Hello peerHello;
  private volatile String peerId;
  private volatile String peerRuntime;
  private volatile String peerBlobAlgorithm;
  private volatile int peerMinor;
  private volatile long lastSentNanos = System.nanoTime();

  PeerConnection(TcpTransport transport, Socket socket) throws IOException {
    this.transport = transport;
    this.socket = socket;
    this.remote = (InetSocketAddress) socket.getRemoteSocketAddress();
    this.name = remote.getAddress().getHostAddress() + ":" + remote.getPort();
    this.in = new DeadlineInputStream(socket, socket.getInputStream());
    this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
    this.codec = transport.codec();
    this.reader = new FrameReader(in, codec);
    Duration idle = transport.idleTimeout();
    this.idleNanos = idle.toNanos();
    this.idleReason = "no frame received within the idle timeout of " + idle;
  }

  /** The connection a {@link TcpTransport} handed out as a {@link Transport.Connection}. */
  public static PeerConnection of(Transport.Connection connection) {
    if (connection instanceof PeerConnection p) {
      return p;
    }
    throw new IllegalArgumentException(
        "not a TcpTransport connection: " + connection.getClass().getName());
  }

  @Override
  public InetSocketAddress remoteAddress() {
    return remote;
  }

  /** The peer's id: its HELLO {@code peer_id}, or the listener's id on a connecting side. */
  public String peerId() {
    return peerId;
  }

  /** The peer's HELLO (role, capabilities, resources); null on the connecting side. */
  public Hello peerHello() {
    return peerHello;
  }

  /** The {@code runtime} of the peer's HELLO envelope (e.g. {@code jvm}); null on the connecting side. */
  public String peerRuntime() {
    return peerRuntime;
  }

  /**
   * On the connecting side, the algorithm of the listener's blob store from its HELLO_ACK (e.g.
   * {@code xxh64}); null if it did not say.
   */
  public String peerBlobAlgorithm() {
    return peerBlobAlgorithm;
  }

  void peerBlobAlgorithm(String algorithm) {
    this.peerBlobAlgorithm = algorithm;
  }

  /** The minor version both sides speak: the smaller of the two. */
  public int minorVersion() {
    return Math.min(peerMinor, transport.minor());
  }

  @Override
  public boolean isOpen() {
    return !closed.get();
  }

  /** Wraps {@code payload} in an envelope with a fresh id and sends it. */
  public CompletableFuture<Void> send(Payload payload) {
    return send(message(payload));
  }

  /** A message from this side: this protocol version, a fresh id, the transport's clock. */
  public Message message(Payload payload) {
    return new Message(
        Protocol.MAJOR,
        payload.type(),
        Long.toString(ids.incrementAndGet(), 36),
        transport.clock().millis(),
        Protocol.RUNTIME,
        payload);
  }

  @Override
  public CompletableFuture<Void> send(Message message) {
    byte[] frame = codec.encode(message); // misuse (bad payload) throws here, to the caller
    return enqueue(frame);
  }

  /**
   * Sends {@code payload} as a request and completes with the reply naming it ({@code reply_to});
   * an ERROR reply completes exceptionally with {@link RemoteErrorException}, no reply within
   * {@code timeout} with {@link TimeoutException} (the peer may still have acted on it), and a
   * closed connection with {@link BuildNetException}. Completes on the reader thread: chain with
   * the {@code ...Async} methods to do real work.
   */
  public CompletableFuture<Message> request(Payload payload, Duration timeout) {
    return request(payload, timeout, null);
  }

  /**
   * Like {@link #request(Payload, Duration)} for requests answered by a stream of replies (BLOB_GET
   * is answered by BLOB_CHUNKs): each reply but the last goes to {@code partial} on the reader
   * thread; the future completes with the last ({@code last} true, or an ERROR). {@code timeout}
   * bounds the whole stream.
   */
  public CompletableFuture<Message> request(
      Payload payload, Duration timeout, Consumer<Message> partial) {
    Objects.requireNonNull(timeout, "timeout");
    Message m = message(payload);
    CompletableFuture<Message> future = new CompletableFuture<>();
    Pending p = new Pending(future, partial);
    pending.put(m.id(), p);
    java.util.concurrent.Future<?> timer = transport.schedule(
        () -> {
          if (pending.remove(m.id(), p)) {
            future.completeExceptionally(
                new TimeoutException(
                    m.type() + " request " + m.id() + " to " + this + " got no reply within "
                        + timeout + "; the peer may still have acted on it"));
          }
        },
        timeout);
    // Answered requests drop their timer: at thousands of requests a second, timers that wait
    // out their whole timeout would pile up in the scheduler's queue.
    future.whenComplete((reply, e) -> timer.cancel(false));
    send(m)
        .whenComplete(
            (ok, e) -> {
              if (e != null && pending.remove(m.id(), p)) {
                future.completeExceptionally(e);
              }
            });
    if (closed.get() && pending.remove(m.id(), p)) {
      future.completeExceptionally(closedException());
    }
    return future;
  }

  private CompletableFuture<Void> enqueue(byte[] frame) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (closed.get()) {
      done.completeExceptionally(closedException());
      return done;
    }
    long queued = queuedBytes.addAndGet(frame.length);
    if (queued > transport.maxQueuedBytes()) {
      queuedBytes.addAndGet(-frame.length);
      BuildNetException e =
          new BuildNetException(
              "peer " + this + " is too slow: " + queued + " bytes would be queued for it, over the"
                  + " limit of " + transport.maxQueuedBytes() + "; disconnecting it");
      log.warn(e.getMessage());
      close(e);
      done.completeExceptionally(e);
      return done;
    }
    queue.add(new Outgoing(frame, done));
    if (closed.get()) {
      drainQueue();
    }
    return done;
  }

  // ---- threads -------------------------------------------------------------------------------

  /** Starts the reader thread, which first runs {@code beforeLoop} (the listener's handshake). */
  void startReader(IoTask beforeLoop) {
    Thread t = new Thread(() -> readLoop(beforeLoop), "buildnet-net-" + name);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  void startWriter() {
    // Under the lock close() passes through: a writer is either started (and listed, so close's
    // joins see it) before the connection closes, or never started at all.
    synchronized (writerLock) {
      if (closed.get()) {
        return;
      }
      Thread t = new Thread(this::writeLoop, "buildnet-net-" + name + "-out");
      t.setDaemon(true);
      threads.add(t);
      writerStarted = true;
      t.start();
    }
  }

  @FunctionalInterface
  interface IoTask {
    void run() throws IOException;
  }

  private void readLoop(IoTask beforeLoop) {
    try {
      if (beforeLoop != null) {
        beforeLoop.run();
        if (closed.get()) {
          return;
        }
      }
      while (!closed.get()) {
        idleDeadline();
        byte[] body = reader.next();
        if (body == null) {
          close(null);
          return;
        }
        Message m;
        try {
          m = codec.decodeBody(body);
        } catch (ProtocolException e) {
          if (e.fatal()) {
            failAndClose(e.code(), e.getMessage(), e.messageId(), e);
            return;
          }
          log.debug("{}: {}", this, e.getMessage());
          send(new ErrorReply(e.messageId(), e.code().code(), e.getMessage(), false));
          continue;
        }
        dispatch(m);
      }
    } catch (ProtocolException e) {
      failAndClose(e.code(), e.getMessage(), e.messageId(), e);
    } catch (SocketTimeoutException e) {
      failAndClose(ErrorCode.TIMEOUT, in.reason(), null, e);
    } catch (EOFException e) {
      close(e);
    } catch (IOException e) {
      close(closed.get() ? null : e);
    } catch (RuntimeException | Error e) {
      log.error("{}: reader failed", this, e);
      close(e);
    }
  }

  private void dispatch(Message m) {
    if (m.version() != Protocol.MAJOR) {
      failAndClose(
          ErrorCode.UNSUPPORTED_VERSION,
          "message of protocol major version " + m.version() + " on a " + Protocol.MAJOR + ".x connection",
          m.id(),
          null);
      return;
    }
    Payload p = m.payload();
    if (m.type() == MessageType.HEARTBEAT) {
      // The handler sees it first (a master records liveness), so the ack follows the record.
      deliver(m);
      send(new Payloads.HeartbeatAck(m.id()));
      return;
    }
    if (p instanceof Payloads.Reply r && r.replyTo() != null) {
      Pending waiting = pending.get(r.replyTo());
      if (waiting != null) {
        boolean partial = p instanceof Payloads.BlobChunk c && !c.last() && waiting.partial() != null;
        if (partial) {
          waiting.partial().accept(m);
          return;
        }
        pending.remove(r.replyTo(), waiting);
        if (p instanceof ErrorReply e) {
          waiting.future().completeExceptionally(new RemoteErrorException(e));
        } else {
          waiting.future().complete(m);
        }
        return;
      }
      if (m.type() == MessageType.HEARTBEAT_ACK) {
        return;
      }
    }
    switch (m.type()) {
      case HELLO, HELLO_ACK, AUTH_CHALLENGE, AUTH_PROOF -> {
        send(
            new ErrorReply(
                m.id(), ErrorCode.UNEXPECTED_MESSAGE.code(), m.type() + " after the handshake", false));
        return;
      }
      default -> {}
    }
    deliver(m);
  }

  private void deliver(Message m) {
    try {
      handler.onMessage(this, m);
    } catch (RuntimeException e) {
      log.warn("{}: handler failed on {} {}", this, m.type(), m.id(), e);
    }
  }

  private void writeLoop() {
    List<CompletableFuture<Void>> unflushed = new ArrayList<>();
    try {
      while (true) {
        Outgoing o = queue.take();
        if (o == POISON) {
          return;
        }
        queuedBytes.addAndGet(-o.frame().length);
        out.write(o.frame());
        unflushed.add(o.done());
        if (queue.isEmpty()) {
          out.flush();
          lastSentNanos = System.nanoTime();
          unflushed.forEach(f -> f.complete(null));
          unflushed.clear();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      close(closed.get() ? null : e);
    } finally {
      BuildNetException e = closedException();
      unflushed.forEach(f -> f.completeExceptionally(e));
      drainQueue();
    }
  }

  /**
   * Fails every queued send. Keeps the POISON close() queued: a send racing close() drains the
   * queue too, and a writer that lost its POISON would wait in take() forever.
   */
  private void drainQueue() {
    BuildNetException e = closedException();
    boolean poisoned = false;
    for (Outgoing o; (o = queue.poll()) != null; ) {
      if (o == POISON) {
        poisoned = true;
      } else if (o.done() != null) {
        o.done().completeExceptionally(e);
      }
    }
    if (poisoned) {
      queue.add(POISON);
    }
  }

  // ---- handshake support (used by TcpTransport on this connection's threads) -------------------

  void handshakeDeadline(Duration timeout) {
    in.deadlineIn(timeout.toNanos(), "handshake not completed within " + timeout);
  }

  private void idleDeadline() {
    in.deadlineIn(idleNanos, idleReason);
  }

  /** Reads and decodes one frame during the handshake (before the threads run). */
  Message readDirect() throws IOException {
    byte[] body = reader.next();
    if (body == null) {
      throw new EOFException("connection closed by " + this + " during the handshake");
    }
    return codec.decodeBody(body);
  }

  /** Writes one message synchronously, before the writer thread runs. */
  void writeDirect(Payload payload) throws IOException {
    writeDirectMessage(message(payload));
  }

  /** Runs the TLS handshake, if this is a TLS socket, within {@code timeout}. */
  void startTlsHandshake(Duration timeout) throws IOException {
    if (socket instanceof javax.net.ssl.SSLSocket ssl) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new SocketTimeoutException("handshake not completed within its timeout");
      }
      socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
      ssl.startHandshake();
    }
  }

  void writeDirectMessage(Message m) throws IOException {
    out.write(codec.encode(m));
    out.flush();
  }

  void established(Hello hello, String id, int minor, Handler h) {
    this.peerHello = hello;
    this.peerId = id;
    this.peerMinor = minor;
    this.handler = h;
  }

  void peerRuntime(String runtime) {
    this.peerRuntime = runtime;
  }

  long lastSentNanos() {
    return lastSentNanos;
  }

  /**
   * Tells the peer why, then closes: waits a moment for the ERROR to leave, never longer, since
   * a peer that does not read must not keep the connection.
   */
  void failAndClose(ErrorCode code, String message, String replyTo, Throwable cause) {
    if (closed.get()) {
      return;
    }
    log.warn("closing {}: {} {}", this, code, message);
    ErrorReply error = new ErrorReply(replyTo, code.code(), message, true);
    try {
      if (!writerStarted) {
        writeDirect(error); // still in the handshake: no writer thread yet
      } else {
        send(error).get(1, TimeUnit.SECONDS);
      }
    } catch (Exception ignored) {
      // the close below is what matters
    }
    close(cause == null ? new ProtocolException(code, message) : cause);
  }

  @Override
  public void close() {
    close(null);
  }

  void close(Throwable cause) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (writerLock) {
      // waits out a startWriter() in progress, so its thread is listed before we are forgotten
    }
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    queue.add(POISON);
    BuildNetException e = closedException();
    pending.values().forEach(p -> p.future().completeExceptionally(e));
    pending.clear();
    transport.forget(this);
    Handler h = handler;
    if (h != null) {
      try {
        h.onClose(this, cause);
      } catch (RuntimeException ex) {
        log.warn("{}: onClose failed", this, ex);
      }
    }
  }

  /** Whether this connection's threads have all ended. */
  boolean threadsEnded() {
    return threads.stream().noneMatch(Thread::isAlive);
  }

  /** Waits up to {@code millis} for this connection's threads to end (not from those threads). */
  void join(long millis) throws InterruptedException {
    long until = System.currentTimeMillis() + millis;
    // Re-read until no new thread appears: a listener's reader starts the writer after the
    // handshake, possibly while we wait for the reader.
    java.util.Set<Thread> joined = new java.util.HashSet<>();
    boolean more = true;
    while (more) {
      more = false;
      for (Thread t : List.copyOf(threads)) {
        if (joined.add(t)) {
          more = true;
          if (t != Thread.currentThread()) {
            t.join(Math.max(1, until - System.currentTimeMillis()));
          }
        }
      }
    }
  }

  private BuildNetException closedException() {
    return new BuildNetException("connection to " + this + " is closed");
  }

  @Override
  public String toString() {
    String id = peerId;
    return id == null ? name : id + "@" + name;
  }
}
