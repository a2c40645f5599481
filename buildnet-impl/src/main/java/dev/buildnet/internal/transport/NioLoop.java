package dev.buildnet.internal.transport;

import java.io.IOException;
import dev.buildnet.internal.protocol.FrameReader;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One selector thread ({@code buildnet-net-loop}) that accepts, reads and writes every plaintext
 * connection a {@link TcpTransport} listens for. Reads go through one shared buffer into each
 * connection's {@link FrameAssembler}; frames sent while the loop handles reads are flushed
 * together at the end of the iteration, so several frames leave in one write syscall; other
 * threads' sends queue a flush (one wake-up however many frames). Handlers run on this thread and
 * must not block.
 */
final class NioLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(NioLoop.class);

  /** Something registered with the selector: a listening or a connected channel. */
  interface Io {
    /** Called on the loop thread when the key is ready. */
    void ready(SelectionKey key);
  }

  private final Selector selector;
  private final Thread thread;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean wakeupPending = new AtomicBoolean();
  private final ArrayDeque<PeerConnection> toFlush = new ArrayDeque<>();
  private final List<PeerConnection> connections = new ArrayList<>();
  private final long sweepNanos;
  private final Runnable sweep;
  private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
  // TLS: decrypted bytes go through one buffer (its frames are assembled before the next read),
  // and encrypted ones through pooled packet buffers that a connection holds only while they
  // carry a partial record or unwritten bytes; an idle TLS connection holds none.
  private ByteBuffer plainBuffer = ByteBuffer.allocate(0);
  private final ArrayDeque<ByteBuffer> packetBuffers = new ArrayDeque<>();
  // Spare frame-body arrays of this loop's connections: a stream of BLOB_CHUNKs (1 MiB each)
  // would otherwise allocate each body afresh, growing it step by step (about twice its size).
  // Bounded in number and size, so a loop keeps at most BODY_POOL * MAX_POOLED_BODY bytes.
  private static final int BODY_POOL = 4;
  private static final int MAX_POOLED_BODY = 2 << 20;
  private final ArrayDeque<byte[]> bodies = new ArrayDeque<>();
  private volatile boolean closed;

  NioLoop(long sweepNanos, Runnable sweep) throws IOException {
    this.selector = Selector.open();
    this.sweepNanos = sweepNanos;
    this.sweep = sweep;
    this.thread = new Thread(this, "buildnet-net-loop");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  Selector selector() {
    return selector;
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  ByteBuffer readBuffer() {
    return readBuffer;
  }

  /** The buffer TLS connections decrypt into, at least {@code min} bytes, cleared; on the loop. */
  ByteBuffer plainBuffer(int min) {
    if (plainBuffer.capacity() < min) {
      plainBuffer = ByteBuffer.allocate(min);
    }
    return plainBuffer.clear();
  }

  /** A cleared buffer of at least {@code min} bytes for TLS records, from the pool; on the loop. */
  ByteBuffer packetBuffer(int min) {
    ByteBuffer b = packetBuffers.poll();
    if (b == null) {
      return ByteBuffer.allocate(min);
    }
    if (b.capacity() < min) {
      packetBuffers.addLast(b); // a handshake's small one: it serves the next small request
      return ByteBuffer.allocate(min);
    }
    return b.clear();
  }

  /** Gives a buffer from {@link #packetBuffer} back (keeps a bounded number); on the loop. */
  void release(ByteBuffer b) {
    if (packetBuffers.size() < 64) {
      packetBuffers.push(b);
    }
  }

  private final byte[] whole = new byte[FrameReader.ALLOCATION_STEP]; // see takeWhole
  private boolean wholeLent;

  /** A spare body array of at least {@code size} bytes, or null if none; on the loop. */
  byte[] takeBody(int size) {
    for (java.util.Iterator<byte[]> i = bodies.iterator(); i.hasNext(); ) {
      byte[] b = i.next();
      if (b.length >= size) {
        i.remove();
        return b;
      }
    }
    return null;
  }

  /**
   * The loop's array for a small frame that arrived whole in one read, or null if it is lent
   * already: decoding copies out what a message keeps, so one array serves every such frame,
   * where each used to cost a new body array. Given back with {@link #releaseBody}; on the loop.
   */
  byte[] takeWhole() {
    if (wholeLent) {
      return null;
    }
    wholeLent = true;
    return whole;
  }

  /** Keeps a decoded body's array for {@link #takeBody} (a bounded number of them); on the loop. */
  void releaseBody(byte[] body) {
    if (body == whole) {
      wholeLent = false;
      return;
    }
    if (body.length > FrameReader.ALLOCATION_STEP && body.length <= MAX_POOLED_BODY) {
      if (bodies.size() >= BODY_POOL) {
        bodies.pollLast();
      }
      bodies.addFirst(body);
    }
  }

  /** Runs {@code task} on the loop thread: now if called there, else at its next wake-up. */
  void execute(Runnable task) {
    if (inLoop()) {
      task.run();
      return;
    }
    tasks.add(task);
    wakeup();
  }

  /** Runs {@code task} on the loop thread at its next wake-up, never now (even on the loop). */
  void executeLater(Runnable task) {
    tasks.add(task);
    wakeup();
  }

  private void wakeup() {
    if (wakeupPending.compareAndSet(false, true)) {
      selector.wakeup();
    }
  }

  /** Flushes {@code c} at the end of this iteration (on the loop) or at the next one. */
  void flushSoon(PeerConnection c) {
    if (inLoop()) {
      toFlush.add(c);
    } else {
      tasks.add(() -> toFlush.add(c));
      wakeup();
    }
  }

  /** Registers a connection for the idle and handshake sweep; on the loop thread. */
  void track(PeerConnection c) {
    connections.add(c);
  }

  @Override
  public void run() {
    long nextSweep = System.nanoTime() + sweepNanos;
    try {
      while (!closed) {
        long wait = Math.max(1, (nextSweep - System.nanoTime()) / 1_000_000);
        // The action form: no selected-key set to copy into and iterate per wake-up.
        selector.select(this::ready, wait);
        wakeupPending.set(false);
        runTasks();
        flushAll();
        long now = System.nanoTime();
        if (now - nextSweep >= 0) {
          nextSweep = now + sweepNanos;
          connections.removeIf(c -> !c.isOpen());
          try {
            sweep.run();
          } catch (RuntimeException e) {
            log.error("network loop: the sweep failed", e);
          }
        }
      }
    } catch (IOException | RuntimeException | Error e) {
      if (!closed) {
        log.error("network loop failed; its connections are closed", e);
      }
    } finally {
      runTasks(); // connections closed just before: their TLS close_notify still goes out
      for (SelectionKey k : List.copyOf(keysQuietly())) {
        try {
          k.channel().close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
      try {
        selector.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private void ready(SelectionKey k) {
    try {
      if (k.isValid()) {
        ((Io) k.attachment()).ready(k);
      }
    } catch (CancelledKeyException e) {
      // closed meanwhile
    } catch (RuntimeException | Error e) {
      log.error("network loop: a handler failed", e);
    }
  }

  private java.util.Set<SelectionKey> keysQuietly() {
    try {
      return selector.keys();
    } catch (RuntimeException e) {
      return java.util.Set.of();
    }
  }

  private void runTasks() {
    for (Runnable r; (r = tasks.poll()) != null; ) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.error("network loop: a task failed", e);
      }
    }
  }

  private void flushAll() {
    for (PeerConnection c; (c = toFlush.poll()) != null; ) {
      try {
        c.flushOnLoop();
      } catch (RuntimeException e) {
        log.error("network loop: flushing {} failed", c, e);
        c.close(e);
      }
    }
  }

  /** The connections this loop sweeps; on the loop thread only. */
  List<PeerConnection> connections() {
    return connections;
  }

  /** Stops the loop (its channels are closed on the way out) and waits up to {@code millis}. */
  void close(long millis) throws InterruptedException {
    closed = true;
    selector.wakeup();
    if (Thread.currentThread() != thread && thread.isAlive()) {
      thread.join(millis);
    }
  }

  boolean ended() {
    return !thread.isAlive();
  }
}
