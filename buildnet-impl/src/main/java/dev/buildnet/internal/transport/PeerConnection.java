package dev.buildnet.internal.transport;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Protocol;
import dev.buildnet.internal.protocol.ProtocolException;
import dev.buildnet.api.transport.Transport.Connection.Handler;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated connection of a {@link TcpTransport}: what its {@code connect} returns and
 * what its listeners hand to the {@link Transport.Acceptor}.
 *
 * <h2>Threads</h2>
 *
 * A connection a listener accepted, plaintext or TLS, has no thread of its own: the transport's
 * selector loop ({@code buildnet-net-loop}) reads, decodes and writes it (over TLS through an
 * {@link javax.net.ssl.SSLEngine} only the loop touches; delegated handshake tasks run on a small
 * shared pool). Its handler runs on the loop if it is an {@link InlineHandler}, else on a
 * per-connection serial executor. Frames queued while the loop works leave together, several per
 * write syscall. A frame sent from another thread is written by that thread at once (or by
 * whichever thread is writing the connection then), unless it is a {@link #requestBatched
 * batched} request of a thread that is {@link Cork corked}: it then leaves when the cork ends,
 * with the thread's other batched requests to this connection.
 *
 * <p>A connection this side {@code connect}ed is served the same way (over TLS an engine in
 * client mode): the transport's loop runs its handshake too, so {@code connect} only waits for it.
 *
 * <p>{@link #send} never blocks: when the queue would exceed its bound the peer is too
 * slow, and the connection is closed rather than letting memory grow. Senders of bulk data (blob
 * chunks) should keep a window: wait for the future of an earlier send before queueing more (never
 * on the selector loop). All methods are safe for concurrent use; callbacks on the loop
 * must not block for long.
 *
 * <p>Inbound is bounded too, by flow control rather than disconnection: the bytes of frames handed
 * to a handler's queue and not yet handled (the serial executor of a handler that is not inline,
 * or what an inline handler holds with {@link #holdInbound}) are counted, and above the
 * transport's {@code inboundHighWaterBytes} the loop stops reading the connection until they fall
 * to half of it. The peer's sends then wait in its own socket and queue; the idle deadline is
 * suspended meanwhile, since this side is the slow one.
 *
 * @since 0.1
 */
public final class PeerConnection implements Session {
  private static final Logger log = LoggerFactory.getLogger(PeerConnection.class);

  private record Outgoing(byte[] frame, CompletableFuture<Void> done) {}

  /**
   * Most frames a write syscall (or a TLS wrap) gathers, and the array it gathers them in: one
   * per thread, emptied before any send completes (a completion may write another connection on
   * the same thread), so no write allocates one and no idle connection holds one.
   */
  private static final int BATCH = 64;
  private static final ThreadLocal<ByteBuffer[]> BATCHES =
      ThreadLocal.withInitial(() -> new ByteBuffer[BATCH]);
  /** Per writing thread (loops, and senders that write themselves): small frames go out from it. */
  private static final ThreadLocal<ByteBuffer> OUT =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(32 * 1024));


  /** Where the handshake stands; frames go to the transport's handshake until OPEN. */
  enum Stage {
    CONNECTING,
    AWAIT_HELLO,
    AWAIT_PROOF,
    OPEN
  }

  private final TcpTransport transport;
  private final FrameCodec codec;
  private final SocketChannel channel;
  private final NioLoop loop;
  private final FrameAssembler assembler;
  private final ConcurrentLinkedQueue<Outgoing> outbox;
  private final ArrayDeque<Outgoing> writing; // guarded by flushing
  private final AtomicBoolean flushQueued = new AtomicBoolean();
  private final AtomicBoolean flushing = new AtomicBoolean(); // held while writing the channel
  private volatile boolean stalled; // the socket is full: the loop writes on OP_WRITE
  private final AtomicBoolean interestQueued = new AtomicBoolean(); // see interest()
  private volatile SelectionKey key; // set on the loop before the first frame
  private int headOffset; // guarded by flushing: bytes of writing's head already written
  private long writeCalls; // guarded by flushing: plaintext write syscalls made (for tests)
  private volatile boolean closing; // an ERROR is on its way out; read nothing more
  private volatile Throwable closingCause;
  private volatile long deadlineNanos;
  private volatile String deadlineReason;
  private SerialExecutor serial; // for handlers that are not inline
  // TLS on the selector loop (null / unused for plaintext). Only the loop thread touches the
  // engine and these buffers: sends from other threads ask the loop to flush. netIn and netOut
  // stay in write mode between calls and go back to the loop's pool when empty.
  private final SSLEngine engine;
  private final Connecting connecting; // null on an accepted connection
  private ByteBuffer netIn; // encrypted bytes read but not yet unwrapped (a partial record)
  private ByteBuffer netOut; // encrypted bytes wrapped but not yet written
  private boolean tlsTasks; // delegated handshake tasks are running off the loop
  private volatile boolean tlsOpen; // the TLS handshake is through: application data may flow
  // Handshake state of a listener's side (on the loop):
  volatile Stage stage;
  Message handshakeHello;
  byte[] handshakeNonce;
  Transport.Acceptor acceptor;
  private final String name;
  private final InetSocketAddress remote;
  private final long idleNanos;
  private final String idleReason; // built once: the deadline is re-armed before every frame
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Throwable closeCause; // set once, before closed's failures are built
  private final PendingReplies pending = new PendingReplies();
  private volatile Handler handler;
  private volatile Hello peerHello;
  private volatile String peerId;
  private volatile String peerRuntime;
  private volatile String peerBlobAlgorithm;
  private volatile int peerMinor;
  private volatile long lastSentNanos = System.nanoTime();
  // Inbound back-pressure (see the class doc). readPaused is written on the loop only.
  private final AtomicLong inboundBytes = new AtomicLong();
  private volatile boolean readPaused;
  private final AtomicBoolean resumeQueued = new AtomicBoolean();
  private int frameBytes; // on the loop: the size of the frame being dispatched
  private ByteBuffer parked; // on the loop: bytes read after the frame that paused reading

  /**
   * A connection a listener accepted, served by the selector {@code loop}; {@code engine} (in
   * server mode) speaks TLS on it, or null for plaintext.
   */
  PeerConnection(TcpTransport transport, SocketChannel channel, NioLoop loop, SSLEngine engine)
      throws IOException {
    this(transport, channel, loop, engine, null);
  }

  /**
   * A connection served by the selector {@code loop}: one a listener accepted ({@code connecting}
   * null), or one this side opened, whose handshake replies go to {@code connecting}; {@code
   * engine} (server or client mode) speaks TLS on it, or null for plaintext.
   */
  PeerConnection(TcpTransport transport, SocketChannel channel, NioLoop loop, SSLEngine engine,
      Connecting connecting) throws IOException {
    this.transport = transport;
    this.engine = engine;
    this.channel = channel;
    this.loop = loop;
    this.remote = (InetSocketAddress) channel.getRemoteAddress();
    this.name = remote.getAddress().getHostAddress() + ":" + remote.getPort();
    this.codec = transport.codec();
    this.assembler = new FrameAssembler(FrameCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES, loop);
    this.outbox = new ConcurrentLinkedQueue<>();
    this.writing = new ArrayDeque<>();
    Duration idle = transport.idleTimeout();
    this.idleNanos = idle.toNanos();
    this.idleReason = "no frame received within the idle timeout of " + idle;
    this.connecting = connecting;
    this.stage = connecting != null ? Stage.CONNECTING : Stage.AWAIT_HELLO;
  }

  /**
   * The connecting side's handshake, run on the loop: the HELLO's nonce, the handler to install
   * once HELLO_ACK is verified, and the future {@code connect} waits on (completed with the
   * HELLO_ACK, or failed with why the connection closed first).
   */
  static final class Connecting {
    final byte[] nonce;
    final Handler handler;
    final CompletableFuture<Payloads.HelloAck> result = new CompletableFuture<>();
    byte[] serverNonce; // from AUTH_CHALLENGE; on the loop

    Connecting(byte[] nonce, Handler handler) {
      this.nonce = nonce;
      this.handler = handler;
    }
  }

  /** The connecting side's handshake; null on an accepted connection. */
  Connecting connecting() {
    return connecting;
  }

  /**
   * Starts a connection this side opened, on the loop: registers it (closed with {@code reason}
   * if not through the handshake within {@code left}), starts the TLS handshake (the client
   * speaks first), and queues {@code hello}, which leaves once TLS is through.
   */
  void startConnecting(Duration left, String reason, Message hello) throws IOException {
    register(left, reason);
    send(hello);
    if (engine != null) {
      tlsPump();
    }
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
        MessageIds.base36(ids.incrementAndGet()),
        transport.clock().millis(),
        Protocol.RUNTIME,
        payload);
  }

  /** True: {@link #send(Message)} encodes into a frame of its own before it returns. */
  @Override
  public boolean encodesOnSend() {
    return true;
  }

  @Override
  public CompletableFuture<Void> send(Message message) {
    byte[] frame = codec.encode(message); // misuse (bad payload) throws here, to the caller
    return enqueue(frame, false);
  }

  /**
   * Sends {@code payload} as a request and completes with the reply naming it ({@code reply_to});
   * an ERROR reply completes exceptionally with {@link RemoteErrorException}, no reply within
   * {@code timeout} with {@link TimeoutException} (the peer may still have acted on it), and a
   * closed connection with {@link BuildNetException}. Completes on the loop: chain with
   * the {@code ...Async} methods to do real work.
   */
  public CompletableFuture<Message> request(Payload payload, Duration timeout) {
    return request(payload, timeout, null);
  }

  /**
   * Like {@link #request(Payload, Duration)} for requests answered by a stream of replies (BLOB_GET
   * is answered by BLOB_CHUNKs): each reply but the last goes to {@code partial} on the loop;
   * the future completes with the last ({@code last} true, or an ERROR). {@code timeout}
   * bounds the whole stream.
   */
  public CompletableFuture<Message> request(
      Payload payload, Duration timeout, Consumer<Message> partial) {
    Cork.flush(); // the caller may wait for this reply: nothing this thread holds waits for it
    return request(payload, timeout, partial, false);
  }

  /**
   * Like {@link #request(Payload, Duration)}, but if this thread is {@link Cork corked} the write
   * is left to the cork, so requests the thread sends to this connection meanwhile leave together.
   */
  @Override
  public CompletableFuture<Message> requestBatched(Payload payload, Duration timeout) {
    return request(payload, timeout, null, true);
  }

  private CompletableFuture<Message> request(
      Payload payload, Duration timeout, Consumer<Message> partial, boolean batched) {
    Objects.requireNonNull(timeout, "timeout");
    Message m = message(payload);
    CompletableFuture<Message> future = new CompletableFuture<>();
    // No timer per request: the connection's one sweep (see PendingReplies) expires it.
    PendingReplies.Pending p = pending.register(m.id(), future, partial, timeout.toNanos(),
        () -> new TimeoutException(m.type() + " request " + m.id() + " to " + this
            + " got no reply within " + timeout + "; the peer may still have acted on it"),
        transport.sweeps());
    enqueue(codec.encode(m), batched) // misuse (bad payload) throws here, to the caller
        .whenComplete(
            (ok, e) -> {
              if (e != null) {
                pending.fail(m.id(), p, () -> e);
              }
            });
    if (closed.get()) {
      pending.fail(m.id(), p, this::closedException);
    }
    return future;
  }

  /** Queues {@code frame}; {@code batched}: a corked thread leaves the write to its {@link Cork}. */
  private CompletableFuture<Void> enqueue(byte[] frame, boolean batched) {
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
    Outgoing o = new Outgoing(frame, done);
    {
      outbox.add(o);
      if (closed.get()) {
        failOutbox();
      } else if (engine != null) {
        if (flushQueued.compareAndSet(false, true)) {
          loop.flushSoon(this); // only the loop wraps: one wake-up for however many sends
        }
      } else if (!loop.inLoop()) {
        if (!batched || !Cork.hold(this)) {
          writeNow();
        }
      } else if (flushQueued.compareAndSet(false, true)) {
        loop.flushSoon(this); // with whatever else the loop's handlers send this iteration
      }
    }
    return done;
  }

  // ---- the selector loop ---------------------------------------------------------------------

  /** Registers with the loop's selector; on the loop thread. */
  void register(Duration handshakeTimeout) throws IOException {
    register(handshakeTimeout, "handshake not completed within " + handshakeTimeout);
  }

  private void register(Duration handshakeTimeout, String reason) throws IOException {
    if (engine != null) {
      engine.beginHandshake();
    }
    key = channel.register(loop.selector(), SelectionKey.OP_READ, (NioLoop.Io) this::ready);
    deadline(handshakeTimeout.toNanos(), reason);
    loop.track(this);
  }

  private void ready(SelectionKey k) {
    if (engine != null) {
      if (k.isReadable() && !closed.get()) {
        tlsRead();
      }
      if (k.isValid() && !closed.get()) {
        tlsPump();
      }
      return;
    }
    if (k.isWritable()) {
      flushOnLoop();
    }
    if (k.isValid() && k.isReadable()) {
      readOnLoop();
    }
  }

  private void readOnLoop() {
    ByteBuffer buf = loop.readBuffer();
    buf.clear();
    int n;
    try {
      n = channel.read(buf);
    } catch (IOException e) {
      close(closed.get() ? null : e);
      return;
    }
    if (n < 0) {
      endOfStream();
      return;
    }
    if (closing) {
      return; // an ERROR is on its way out: nothing more is read
    }
    buf.flip();
    assemble(buf);
  }

  /**
   * Dispatches the frames in {@code in}; on the loop. If a frame's dispatch pauses reading, the
   * bytes after it wait in {@link #parked} (at most one read's or one TLS record's worth), so the
   * backlog exceeds the high-water mark by at most that one frame.
   */
  private void assemble(ByteBuffer in) {
    try {
      byte[] body;
      while (!closed.get() && !closing && (body = assembler.next(in)) != null) {
        try {
          onBody(body, assembler.length());
        } finally {
          assembler.recycle(body); // decoding copied out what the message keeps
        }
        if (readPaused && in.hasRemaining()) {
          ByteBuffer rest = ByteBuffer.allocate(in.remaining());
          rest.put(in).flip();
          parked = rest;
          return;
        }
      }
    } catch (ProtocolException e) {
      onProtocolError(e);
    }
  }

  /**
   * Writes what is queued, as many frames per syscall as are waiting: at the end of a loop
   * iteration for frames the loop's handlers sent, or when the socket drains after a full buffer.
   */
  void flushOnLoop() {
    flushQueued.set(false);
    if (engine != null) {
      tlsPump();
      return;
    }
    stalled = false; // the loop calls this when the socket is writable again, or to try
    flushWhileQueued();
  }

  /**
   * A send from a thread other than the loop writes the frame itself, with no hand-off, unless
   * another thread is writing (it picks the frame up) or the socket is full (the loop writes it
   * when the socket drains).
   */
  private void writeNow() {
    if (!stalled) {
      flushWhileQueued();
    }
  }

  /** A {@link Cork} ends: writes what its thread queued and held (and whatever else is queued). */
  void writeHeld() {
    writeNow();
  }

  private void flushWhileQueued() {
    while (true) {
      if (!flushing.compareAndSet(false, true)) {
        return; // the holder looks at the queue again after it lets go
      }
      boolean wasClosed = closed.get();
      try {
        drain();
      } finally {
        flushing.set(false);
      }
      if (wasClosed) {
        return; // drain failed everything queued
      }
      if (closed.get()) {
        continue; // closed while we wrote: fail what is left
      }
      if (outbox.isEmpty() || stalled) {
        return;
      }
    }
  }

  /** Writes until the queue is empty or the socket is full; holding {@code flushing}. */
  private void drain() {
    if (closed.get()) {
      failWriting();
      return;
    }
    ByteBuffer[] batch = null;
    try {
      while (true) {
        for (Outgoing o; writing.size() < BATCH && (o = outbox.poll()) != null; ) {
          writing.add(o);
        }
        if (writing.isEmpty()) {
          break;
        }
        long total;
        long written;
        ByteBuffer direct = OUT.get();
        if (copyQueued(direct)) {
          // The usual case: small frames, copied into this thread's direct buffer and written in
          // one call. From heap buffers the JDK would copy each into a temporary direct buffer
          // of its own, with two thread-local look-ups per buffer per write.
          total = direct.remaining();
          written = channel.write(direct);
        } else {
          if (batch == null) {
            batch = BATCHES.get();
          }
          int n = gather(batch);
          total = 0;
          for (int i = 0; i < n; i++) {
            total += batch[i].remaining();
          }
          try {
            written = channel.write(batch, 0, n);
          } finally {
            java.util.Arrays.fill(batch, 0, n, null);
          }
        }
        lastSentNanos = System.nanoTime();
        writeCalls++;
        long left = total - written;
        while (written > 0) {
          Outgoing head = writing.peek();
          int rest = head.frame().length - headOffset;
          if (written >= rest) {
            written -= rest;
            headOffset = 0;
            writing.poll();
            queuedBytes.addAndGet(-head.frame().length);
            head.done().complete(null);
          } else {
            headOffset += (int) written;
            written = 0;
          }
        }
        if (left > 0) {
          // The socket's buffer is full: the loop writes the rest when it drains.
          stalled = true;
          interest(true);
          return;
        }
      }
      interest(false);
      if (closing) {
        close(closingCause);
      }
    } catch (IOException e) {
      close(closed.get() ? null : e);
      failWriting();
    }
  }

  /**
   * Copies the unwritten bytes of {@code writing}'s first frames, as many whole ones as fit, into
   * {@code out} (cleared first, flipped after); false if not even the first fits (a large frame:
   * written from its own array).
   */
  private boolean copyQueued(ByteBuffer out) {
    out.clear();
    boolean first = true;
    for (Outgoing o : writing) {
      int from = first ? headOffset : 0;
      int len = o.frame().length - from;
      if (len > out.remaining()) {
        break;
      }
      out.put(o.frame(), from, len);
      first = false;
    }
    out.flip();
    return !first;
  }

  /** Puts the unwritten bytes of {@code writing}'s frames in {@code batch}; how many. */
  private int gather(ByteBuffer[] batch) {
    int n = 0;
    for (Outgoing o : writing) {
      int from = n == 0 ? headOffset : 0;
      batch[n++] = ByteBuffer.wrap(o.frame(), from, o.frame().length - from);
    }
    return n;
  }

  /**
   * Asks the loop to report (or stop reporting) when the socket is writable. On the loop it is
   * applied at once. A sender's own thread (holding {@code flushing}) can only ask the loop to do
   * it later, and by then the loop may have flushed and changed {@link #stalled} itself: so the
   * loop's task applies what {@code stalled} says when it runs, not what was asked. (It used to
   * apply what was asked, and skip asking when the key already showed it: a sender that stalled
   * while the loop's "stop reporting" was still queued then skipped, the loop cleared OP_WRITE,
   * and the connection never wrote again: a 64 MiB upload under load hung until the master's idle
   * timeout closed it.)
   */
  private void interest(boolean writable) {
    SelectionKey k = key;
    if (k == null || !k.isValid()) {
      return;
    }
    if (loop.inLoop()) {
      setWritableInterest(k, writable);
      return;
    }
    // A "stop reporting" may be skipped when the key already shows it: while this sender holds
    // flushing, stalled stays false, so no queued task can set OP_WRITE. A "report" never is.
    if (!writable && (k.interestOps() & SelectionKey.OP_WRITE) == 0) {
      return;
    }
    if (interestQueued.compareAndSet(false, true)) {
      // One task at a time is enough: it reads stalled after clearing the flag, so a sender that
      // found the flag set changed stalled before the task looks at it.
      loop.execute(() -> {
        interestQueued.set(false);
        setWritableInterest(k, stalled);
      });
    }
  }

  private static void setWritableInterest(SelectionKey k, boolean writable) {
    if (k.isValid() && ((k.interestOps() & SelectionKey.OP_WRITE) != 0) != writable) {
      k.interestOps(writable
          ? k.interestOps() | SelectionKey.OP_WRITE
          : k.interestOps() & ~SelectionKey.OP_WRITE);
    }
  }

  // ---- TLS on the selector loop ----------------------------------------------------------------
  //
  // The loop reads encrypted bytes into netIn and unwraps them into its shared plaintext buffer,
  // whose frames are assembled before anything else runs; it wraps queued frames into netOut (a
  // record holds up to 16 KiB of them) and writes netOut when it is full or nothing more is queued.
  // The handshake is the same pump: the engine says whether it needs to wrap, unwrap, or run
  // delegated tasks (on the transport's TLS pool, never on the loop; reading pauses meanwhile).

  /** Reads what the socket has into netIn; on the loop. */
  private void tlsRead() {
    if (netIn == null) {
      // One record's room until the handshake is through: peers that never finish it pin less.
      netIn = loop.packetBuffer(
          tlsOpen ? packetBufferBytes() : engine.getSession().getPacketBufferSize());
    } else if (!netIn.hasRemaining()) {
      netIn = grow(netIn, packetBufferBytes()); // a record larger than the session first said
    }
    int n;
    try {
      n = channel.read(netIn);
    } catch (IOException e) {
      close(closed.get() ? null : e);
      return;
    }
    if (n < 0) {
      // Ended without close_notify (or a close_notify was already seen and answered).
      if (!tlsOpen) {
        close(new EOFException("connection closed by " + this + " during the TLS handshake"));
      } else {
        endOfStream();
      }
    }
  }

  private void endOfStream() {
    if (assembler.midFrame()) {
      truncatedFrame();
    } else if (stage != Stage.OPEN) {
      close(new EOFException("connection closed by " + this + " during the handshake"));
    } else {
      close(null);
    }
  }

  /**
   * The stream ended inside a frame: a truncated frame is BAD_FRAME (docs/PROTOCOL.md, vector
   * {@code truncated_frame}), and a peer that only shut down its sending side can still read
   * why. Reading stops first, since the end of stream would be reported again and again.
   */
  private void truncatedFrame() {
    EOFException cause =
        new EOFException("truncated frame: " + this + " closed the connection inside a frame");
    if (stage == Stage.CONNECTING) {
      close(cause); // the listener's fault: connect reports it; nothing is owed to the listener
      return;
    }
    SelectionKey k = key;
    if (k != null && k.isValid()) {
      k.interestOps(k.interestOps() & ~SelectionKey.OP_READ);
    }
    failAndClose(ErrorCode.BAD_FRAME, "truncated frame: the stream ended inside a frame", null,
        cause);
  }

  /** Moves TLS as far as it goes without waiting for the socket or the TLS pool; on the loop. */
  private void tlsPump() {
    try {
      while (!closed.get()) {
        boolean written = flushNet();
        if (closed.get() || tlsTasks) {
          break;
        }
        HandshakeStatus hs = engine.getHandshakeStatus();
        boolean progress;
        switch (hs) {
          case NEED_TASK -> {
            runDelegatedTasks();
            progress = false;
          }
          case NEED_WRAP -> progress = written && wrapHandshake();
          // Never past parked bytes: their frames come first (parked is null but when paused).
          case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> progress = parked == null && unwrap(hs);
          default -> {
            tlsOpen = true;
            // While paused, records stay encrypted in netIn (bounded by its size: OP_READ is off).
            progress = !readPaused && parked == null && unwrap(hs);
            if (written && !closed.get()) {
              progress |= wrapQueued();
            }
          }
        }
        if (!progress) {
          break;
        }
      }
    } catch (SSLException e) {
      if (!closed.get()) {
        log.warn("{}: TLS {} failed: {}", this, tlsOpen ? "session" : "handshake", e.getMessage());
        close(e);
      }
      return;
    }
    if (closed.get()) {
      return;
    }
    boolean unwritten = netOut != null;
    interest(unwritten);
    if (closing && !unwritten && writing.isEmpty() && outbox.isEmpty()) {
      close(closingCause);
    }
  }

  /** Writes netOut; whether it is now empty (and returned to the pool). */
  private boolean flushNet() {
    if (netOut == null) {
      return true;
    }
    netOut.flip();
    try {
      channel.write(netOut);
    } catch (IOException e) {
      netOut.compact();
      close(closed.get() ? null : e);
      return false;
    }
    lastSentNanos = System.nanoTime();
    if (netOut.hasRemaining()) {
      netOut.compact();
      return false;
    }
    loop.release(netOut);
    netOut = null;
    return true;
  }

  /** Unwraps one record of netIn, handing its application bytes to the frame assembler. */
  private boolean unwrap(HandshakeStatus hs) throws SSLException {
    if (netIn == null || netIn.position() == 0) {
      if (hs != HandshakeStatus.NEED_UNWRAP_AGAIN) {
        return false; // wait for bytes
      }
      if (netIn == null) {
        netIn = loop.packetBuffer(packetBufferBytes());
      }
    }
    netIn.flip();
    ByteBuffer plain = loop.plainBuffer(engine.getSession().getApplicationBufferSize());
    SSLEngineResult r;
    try {
      r = engine.unwrap(netIn, plain);
      while (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
        plain = loop.plainBuffer(
            Math.max(2 * plain.capacity(), engine.getSession().getApplicationBufferSize()));
        r = engine.unwrap(netIn, plain);
      }
    } finally {
      netIn.compact();
    }
    if (netIn.position() == 0) {
      loop.release(netIn);
      netIn = null;
    }
    if (r.getHandshakeStatus() == HandshakeStatus.FINISHED) {
      tlsOpen = true;
    }
    if (plain.position() > 0) {
      plain.flip();
      deliverPlain(plain);
    }
    switch (r.getStatus()) {
      case CLOSED -> {
        // The peer's close_notify: answered by close(), which closes our side too.
        endOfStream();
        return false;
      }
      case BUFFER_UNDERFLOW -> {
        return false; // a partial record: wait for the rest (tlsRead grows netIn if it is full)
      }
      default -> {
        return r.bytesConsumed() > 0 || r.bytesProduced() > 0
            || r.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING;
      }
    }
  }

  private void deliverPlain(ByteBuffer plain) {
    assemble(plain);
  }

  /** Wraps a handshake record into netOut (which is empty). */
  private boolean wrapHandshake() throws SSLException {
    SSLEngineResult r = wrap(new ByteBuffer[] {ByteBuffer.allocate(0)}, 1);
    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
      flushNet(); // the alert, if any
      close(new SSLException("the TLS engine closed during the handshake with " + this));
      return false;
    }
    if (r.getHandshakeStatus() == HandshakeStatus.FINISHED) {
      tlsOpen = true;
    }
    return true;
  }

  /** Wraps queued frames into netOut while it has room for a whole record. */
  private boolean wrapQueued() throws SSLException {
    int packet = engine.getSession().getPacketBufferSize();
    boolean progress = false;
    ByteBuffer[] batch = null;
    while (true) {
      for (Outgoing o; writing.size() < BATCH && (o = outbox.poll()) != null; ) {
        writing.add(o);
      }
      if (writing.isEmpty() || (netOut != null && netOut.remaining() < packet)) {
        return progress;
      }
      if (batch == null) {
        batch = BATCHES.get();
      }
      int n = gather(batch);
      SSLEngineResult r;
      try {
        r = wrap(batch, n);
      } finally {
        java.util.Arrays.fill(batch, 0, n, null);
      }
      if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
        close(new SSLException("the TLS session with " + this + " is closed"));
        return false;
      }
      consumed(r.bytesConsumed());
      progress = true;
      if (closed.get()) {
        return false;
      }
      if (r.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING) {
        return true; // the engine needs something else first (a post-handshake message)
      }
    }
  }

  /** Completes the frames whose last bytes are now {@code n} bytes further; on the loop. */
  private void consumed(long n) {
    while (n > 0) {
      Outgoing head = writing.peek();
      if (head == null) {
        return; // a completion callback closed the connection, failing the rest
      }
      int rest = head.frame().length - headOffset;
      if (n >= rest) {
        n -= rest;
        headOffset = 0;
        writing.poll();
        queuedBytes.addAndGet(-head.frame().length);
        head.done().complete(null);
      } else {
        headOffset += (int) n;
        n = 0;
      }
    }
  }

  /** Wraps into netOut, growing it if the engine wants more room than it has. */
  private SSLEngineResult wrap(ByteBuffer[] src, int n) throws SSLException {
    if (netOut == null) {
      netOut = loop.packetBuffer(packetBufferBytes());
    }
    while (true) {
      SSLEngineResult r = engine.wrap(src, 0, n, netOut);
      if (r.getStatus() != SSLEngineResult.Status.BUFFER_OVERFLOW) {
        return r;
      }
      netOut = grow(netOut, engine.getSession().getPacketBufferSize());
    }
  }

  /** Pooled TLS buffers hold a few records, so one read or write syscall moves several. */
  private int packetBufferBytes() {
    return 4 * engine.getSession().getPacketBufferSize();
  }

  /** A larger copy of {@code b} (in write mode, as netIn and netOut are kept). */
  private static ByteBuffer grow(ByteBuffer b, int atLeastMore) {
    ByteBuffer bigger = ByteBuffer.allocate(b.capacity() + Math.max(b.capacity(), atLeastMore));
    b.flip();
    bigger.put(b);
    return bigger;
  }

  /** Runs the engine's delegated tasks on the TLS pool; the loop stops reading meanwhile. */
  private void runDelegatedTasks() {
    tlsTasks = true;
    SelectionKey k = key;
    readInterest();
    try {
      transport.tlsPool().execute(() -> {
        RuntimeException failure = null;
        try {
          for (Runnable t; (t = engine.getDelegatedTask()) != null; ) {
            t.run();
          }
        } catch (RuntimeException e) {
          failure = e;
        }
        RuntimeException f = failure;
        loop.execute(() -> {
          tlsTasks = false;
          if (f != null) {
            log.warn("{}: TLS handshake failed: {}", this, f.toString());
            close(f);
            return;
          }
          if (k.isValid()) {
            readInterest(); // still off if the backlog paused reading meanwhile
            tlsPump();
          }
        });
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      close(e); // the transport is closing
    }
  }

  /** Sends close_notify if the socket takes it at once, closes the socket; on the loop. */
  private void tlsCloseOnLoop() {
    try {
      if (!engine.isOutboundDone()) {
        engine.closeOutbound();
        wrap(new ByteBuffer[] {ByteBuffer.allocate(0)}, 1);
        flushNet(); // never waits: a peer that does not read gets no close_notify
      }
    } catch (SSLException | RuntimeException ignored) {
      // closing anyway
    }
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    failWriting();
  }

  /** Fails what is queued; holding {@code flushing} (or once nobody can write any more). */
  private void failWriting() {
    BuildNetException e = closedException();
    for (Outgoing o; (o = writing.poll()) != null; ) {
      o.done().completeExceptionally(e);
    }
    failOutbox();
  }

  private void failOutbox() {
    BuildNetException e = closedException();
    for (Outgoing o; (o = outbox.poll()) != null; ) {
      o.done().completeExceptionally(e);
    }
  }

  /** Reads after {@code nanos} from now (on the loop: until the next frame) fail with {@code reason}. */
  void deadline(long nanos, String reason) {
    deadlineReason = reason;
    deadlineNanos = System.nanoTime() + nanos;
  }

  /** On the loop's sweep: closes this connection if its deadline has passed. */
  void sweep(long now) {
    if (readPaused) {
      return; // this side is the slow one: the deadline is re-armed when reading resumes
    }
    if (!closed.get() && !closing && now - deadlineNanos > 0) {
      if (stage == Stage.CONNECTING) {
        close(new ProtocolException(ErrorCode.TIMEOUT, deadlineReason)); // connect reports it
        return;
      }
      failAndClose(ErrorCode.TIMEOUT, deadlineReason, null, null);
    }
  }

  /** One frame's body; on the loop. */
  private void onBody(byte[] body, int length) {
    Message m;
    try {
      m = codec.decodeBody(body, 0, length);
    } catch (ProtocolException e) {
      if (stage != Stage.OPEN || e.fatal()) {
        onProtocolError(e);
        return;
      }
      log.debug("{}: {}", this, e.getMessage());
      send(new ErrorReply(e.messageId(), e.code().code(), e.getMessage(), false));
      return;
    }
    if (stage != Stage.OPEN) {
      if (stage == Stage.CONNECTING) {
        transport.connectFrame(this, m);
      } else {
        transport.handshakeFrame(this, m);
      }
      return;
    }
    deadlineNanos = System.nanoTime() + idleNanos;
    deadlineReason = idleReason;
    frameBytes = FrameCodec.PREFIX_BYTES + length;
    dispatch(m);
  }

  private void onProtocolError(ProtocolException e) {
    if (stage == Stage.CONNECTING) {
      close(e); // the listener's fault: connect reports it; nothing is owed to the listener
    } else if (stage == Stage.AWAIT_HELLO || stage == Stage.AWAIT_PROOF) {
      transport.handshakeError(this, e);
    } else {
      failAndClose(e.code(), e.getMessage(), e.messageId(), e);
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
      deliver(m, () -> send(new Payloads.HeartbeatAck(m.id())));
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
        send(
            new ErrorReply(
                m.id(), ErrorCode.UNEXPECTED_MESSAGE.code(), m.type() + " after the handshake", false));
        return;
      }
      default -> {}
    }
    deliver(m, null);
  }

  private void deliver(Message m, Runnable then) {
    Handler h = handler;
    if (h instanceof InlineHandler) {
      onMessage(h, m, then);
    } else {
      long n = frameBytes;
      hold(n);
      serial().execute(() -> {
        try {
          onMessage(h, m, then);
        } finally {
          release(n);
        }
      });
    }
  }

  /**
   * For an {@link InlineHandler}, during its {@code onMessage} on the loop: the message is kept
   * for later (queued for another thread), so its frame counts against this connection's inbound
   * backlog until the returned action runs (once, from any thread) when it has been handled.
   */
  @Override
  public Runnable holdInbound() {
    if (!loop.inLoop()) {
      throw new IllegalStateException("holdInbound() is for an inline handler's onMessage, on the"
          + " transport's loop; it was called on " + Thread.currentThread().getName());
    }
    long n = frameBytes;
    hold(n);
    AtomicBoolean released = new AtomicBoolean();
    return () -> {
      if (released.compareAndSet(false, true)) {
        release(n);
      }
    };
  }

  /** Counts {@code n} more bytes held for handlers; above the high-water mark, stops reading. */
  private void hold(long n) {
    long held = inboundBytes.addAndGet(n);
    if (held > transport.inboundHighWaterBytes() && !readPaused) {
      readPaused = true;
      readInterest();
      log.debug("{}: {} bytes received are not yet handled; reading paused", this, held);
      // A release that ran before readPaused was set saw nothing to resume: look again.
      if (inboundBytes.get() <= lowWater()) {
        resumeSoon();
      }
    }
  }

  /** {@code n} held bytes were handled (any thread); under the low-water mark, resumes reading. */
  private void release(long n) {
    if (inboundBytes.addAndGet(-n) <= lowWater() && readPaused) {
      resumeSoon();
    }
  }

  private long lowWater() {
    return transport.inboundHighWaterBytes() / 2;
  }

  /** Never inline, even on the loop: a release may run inside a dispatch, amid a read. */
  private void resumeSoon() {
    if (resumeQueued.compareAndSet(false, true)) {
      loop.executeLater(this::resume);
    }
  }

  /** On the loop: reads again if the backlog is under the low-water mark; parked bytes first. */
  private void resume() {
    resumeQueued.set(false);
    if (!readPaused || closed.get() || inboundBytes.get() > lowWater()) {
      return;
    }
    readPaused = false;
    deadlineNanos = System.nanoTime() + idleNanos; // the peer gets a whole idle timeout again
    log.debug("{}: reading resumed", this);
    ByteBuffer p = parked;
    if (p != null) {
      parked = null;
      assemble(p); // may pause (and park) again
    }
    readInterest();
    if (engine != null && !closed.get() && !readPaused) {
      tlsPump(); // records left encrypted in netIn while paused
    }
  }

  /** Reads when neither delegated TLS tasks nor the inbound backlog say not to; on the loop. */
  private void readInterest() {
    SelectionKey k = key;
    if (k == null || !k.isValid()) {
      return;
    }
    int ops = k.interestOps();
    int want = !tlsTasks && !readPaused ? ops | SelectionKey.OP_READ : ops & ~SelectionKey.OP_READ;
    if (want != ops) {
      k.interestOps(want);
    }
  }

  /** Bytes received and not yet handled (for tests). */
  long inboundBytes() {
    return inboundBytes.get();
  }

  /** Whether reading is paused for the inbound backlog (for tests). */
  boolean readPaused() {
    return readPaused;
  }

  /**
   * Write syscalls made for this plaintext connection so far (for tests; exact when read by the
   * thread that wrote, or after the writes it counts are known to be done).
   */
  long writeCalls() {
    return writeCalls;
  }

  /** Bytes queued to send and not yet written (for tests). */
  long queuedBytes() {
    return queuedBytes.get();
  }

  private void onMessage(Handler h, Message m, Runnable then) {
    try {
      h.onMessage(this, m);
    } catch (RuntimeException e) {
      log.warn("{}: handler failed on {} {}", this, m.type(), m.id(), e);
    }
    if (then != null) {
      then.run();
    }
  }

  private SerialExecutor serial() {
    if (serial == null) {
      serial = new SerialExecutor(transport.handlerPool());
    }
    return serial;
  }

  // ---- handshake support (used by TcpTransport on the loop) ------------------------------------

  /** The handshake is through: full-size frames from here on, and the idle deadline. */
  void opened() {
    assembler.limit(codec.maxFrameBytes());
    deadline(idleNanos, idleReason);
    stage = Stage.OPEN;
  }

  /** During a listener's handshake: a reply, queued. */
  void handshakeSend(Payload payload) {
    send(payload);
  }

  /** Sends {@code payload} (best effort, briefly), then closes with {@code cause}. */
  void sendAndClose(Payload payload, Throwable cause) {
    if (closed.get() || closing) {
      return;
    }
    if (engine != null && !tlsOpen) {
      close(cause); // saying why would take the rest of a TLS handshake
      return;
    }
    closingCause = cause;
    closing = true;
    send(payload);
    if (flushQueued.compareAndSet(false, true)) {
      loop.flushSoon(this); // closes once the queue is written
    }
    // A peer that does not read must not keep the connection: close regardless after a moment.
    transport.schedule(() -> close(cause), Duration.ofSeconds(1));
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

  /** When the last frame arrived, once open (the idle deadline is re-armed from it). */
  long lastReceivedNanos() {
    return deadlineNanos - idleNanos;
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
    sendAndClose(error, cause == null ? new ProtocolException(code, message) : cause);
  }

  @Override
  public void close() {
    close(null);
  }

  void close(Throwable cause) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closeCause = cause;
    try {
      if (engine != null) {
        // Only the loop touches the engine; a loop that has ended closed its channels already.
        if (loop.inLoop()) {
          tlsCloseOnLoop();
        } else {
          loop.execute(this::tlsCloseOnLoop);
          if (loop.ended()) {
            channel.close();
            failWriting(); // nobody else can touch the queue any more
          }
        }
      } else {
        channel.close();
      }
    } catch (IOException ignored) {
      // closing anyway
    }
    if (engine == null) {
      // Whoever holds flushing fails the rest when its next write meets the closed channel.
      flushWhileQueued();
    }
    failOutbox();
    BuildNetException e = closedException();
    pending.failAll(e);
    if (connecting != null && !connecting.result.isDone()) {
      connecting.result.completeExceptionally(cause != null ? cause
          : new EOFException("connection to " + this + " closed during the handshake"));
    }
    transport.forget(this);
    Handler h = handler;
    if (h != null) {
      Runnable onClose = () -> {
        try {
          h.onClose(this, cause);
        } catch (RuntimeException ex) {
          log.warn("{}: onClose failed", this, ex);
        }
      };
      if (serial != null) {
        serial.execute(onClose); // after the messages still queued for the handler
      } else {
        onClose.run();
      }
    }
  }

  /** Says why, when this side knows: a timeout, an ERROR, a failed write. */
  private BuildNetException closedException() {
    Throwable why = closeCause;
    return why == null || why.getMessage() == null
        ? new BuildNetException("connection to " + this + " is closed")
        : new BuildNetException("connection to " + this + " is closed: " + why.getMessage(), why);
  }

  @Override
  public String toString() {
    String id = peerId;
    return id == null ? name : id + "@" + name;
  }
}
