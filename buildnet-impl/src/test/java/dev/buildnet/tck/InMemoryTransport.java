package dev.buildnet.tck;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.MessageCodec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Transport} a host could have written: connections inside one JVM, no sockets and no
 * authentication of its own. Each message is encoded into a protocol frame and decoded on the
 * other side with the public {@link MessageCodec} (so what crosses is bytes, as on a wire), and
 * the frames and bytes are counted, so a test can show that a build really went through it. Each
 * connection end delivers on a thread of its own, in order; closing either end closes both, and each side's handler hears {@code onClose}
 * once, after the messages already queued for it.
 *
 * <p>All roles share one instance (it is the "network"): a {@link #listen} address is where
 * {@link #connect} finds the listener.
 */
public final class InMemoryTransport implements Transport {
  private static final MessageCodec CODEC = MessageCodec.standard();
  private static final AtomicInteger PORTS = new AtomicInteger(40_000);

  private final Map<InetSocketAddress, MemListener> listeners = new ConcurrentHashMap<>();
  private final Set<End> ends = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Frames moved so far (both directions). */
  public final AtomicLong frames = new AtomicLong();
  /** Frame bytes moved so far (both directions). */
  public final AtomicLong bytes = new AtomicLong();
  /** Connections opened so far. */
  public final AtomicLong connections = new AtomicLong();
  /** Frames moved so far, by message type. */
  public final Map<MessageType, AtomicLong> byType = new ConcurrentHashMap<>();

  @Override
  public Connection connect(InetSocketAddress address, Duration timeout, Connection.Handler handler)
      throws IOException {
    Objects.requireNonNull(handler, "handler");
    checkOpen();
    MemListener l = listeners.get(address);
    if (l == null || l.closed.get()) {
      throw new IOException("cannot connect to " + address + ": nothing listens there");
    }
    InetSocketAddress clientAddress =
        new InetSocketAddress(InetAddress.getLoopbackAddress(), PORTS.incrementAndGet());
    End client = new End(clientAddress, address, handler);
    End server = new End(address, clientAddress, null);
    client.peer = server;
    server.peer = client;
    ends.add(client);
    ends.add(server);
    connections.incrementAndGet();
    Connection.Handler h;
    try {
      h = Objects.requireNonNull(l.acceptor.accept(server), "the acceptor returned no handler");
    } catch (RuntimeException e) {
      client.close();
      throw new IOException("cannot connect to " + address + ": the listener refused", e);
    }
    server.handler = h;
    return client;
  }

  @Override
  public Listener listen(InetSocketAddress address, Acceptor acceptor) throws IOException {
    Objects.requireNonNull(acceptor, "acceptor");
    checkOpen();
    InetSocketAddress bound = address.getPort() != 0 ? address
        : new InetSocketAddress(address.getAddress(), PORTS.incrementAndGet());
    MemListener l = new MemListener(bound, acceptor);
    if (listeners.putIfAbsent(bound, l) != null) {
      throw new IOException("cannot listen on " + bound + ": already in use");
    }
    return l;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      List.copyOf(listeners.values()).forEach(MemListener::close);
      List.copyOf(ends).forEach(End::close);
    }
  }

  private static Message decode(byte[] frame) {
    try {
      return CODEC.read(new ByteArrayInputStream(frame));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // an in-memory stream does not fail
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("transport is closed");
    }
  }

  private final class MemListener implements Listener {
    final InetSocketAddress address;
    final Acceptor acceptor;
    final AtomicBoolean closed = new AtomicBoolean();

    MemListener(InetSocketAddress address, Acceptor acceptor) {
      this.address = address;
      this.acceptor = acceptor;
    }

    @Override
    public InetSocketAddress localAddress() {
      return address;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        listeners.remove(address, this);
      }
    }
  }

  private final class End implements Connection {
    final InetSocketAddress local;
    final InetSocketAddress remote;
    final ExecutorService inbox;
    final AtomicBoolean closed = new AtomicBoolean();
    volatile Connection.Handler handler;
    volatile End peer;

    End(InetSocketAddress local, InetSocketAddress remote, Connection.Handler handler) {
      this.local = local;
      this.remote = remote;
      this.handler = handler;
      this.inbox = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "in-memory-transport-" + local.getPort());
        t.setDaemon(true);
        return t;
      });
    }

    @Override
    public InetSocketAddress remoteAddress() {
      return remote;
    }

    @Override
    public CompletableFuture<Void> send(Message message) {
      byte[] frame = CODEC.encode(message); // misuse throws to the caller, as the SPI says
      End to = peer;
      if (closed.get() || to.closed.get()) {
        return CompletableFuture.failedFuture(new IOException("connection " + this + " is closed"));
      }
      frames.incrementAndGet();
      bytes.addAndGet(frame.length);
      byType.computeIfAbsent(message.type(), k -> new AtomicLong()).incrementAndGet();
      try {
        to.inbox.execute(() -> to.handler.onMessage(to, decode(frame)));
      } catch (RejectedExecutionException e) {
        return CompletableFuture.failedFuture(new IOException("connection " + this + " is closed"));
      }
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean isOpen() {
      return !closed.get();
    }

    @Override
    public void close() {
      if (!closed.compareAndSet(false, true)) {
        return;
      }
      ends.remove(this);
      try {
        inbox.execute(() -> {
          Connection.Handler h = handler;
          if (h != null) {
            h.onClose(this, null);
          }
        });
      } catch (RejectedExecutionException ignored) {
        // already shut down
      }
      inbox.shutdown();
      End p = peer;
      if (p != null) {
        p.close();
      }
    }

    @Override
    public String toString() {
      return local + "->" + remote;
    }
  }
}
