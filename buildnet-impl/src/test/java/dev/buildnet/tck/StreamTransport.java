package dev.buildnet.tck;

import dev.buildnet.FrameException;
import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Transport} a host could have written with nothing but the public API: each connection
 * is an {@link InputStream} and an {@link OutputStream} (here a plain socket's, without BuildNet's
 * TCP transport), and frames cross them through {@link MessageCodec} alone. A reader thread per
 * connection reads frame after frame and delivers them in order; a writer thread per connection
 * writes what {@link Connection#send} queued, so a send never blocks on a slow peer.
 *
 * <p>It authenticates nothing itself: BuildNet's session layer does the handshake above it, and
 * says when it is through ({@link Connection#authenticated()}). Until then each connection's
 * decoder ({@link MessageCodec#newPreHandshakeDecoder()}) refuses frames over 64 KiB from their
 * length prefix; a refused peer gets the ERROR ({@link MessageCodec#encodeError}) and is closed,
 * except for a frame of an unknown type after the handshake: that ERROR is not fatal, and the
 * connection reads on.
 */
public final class StreamTransport implements Transport {
  private final MessageCodec codec;
  private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Frames sent so far, on every connection. */
  public final AtomicLong framesSent = new AtomicLong();
  /** Frames received so far, on every connection. */
  public final AtomicLong framesReceived = new AtomicLong();

  public StreamTransport(MessageCodec codec) {
    this.codec = Objects.requireNonNull(codec, "codec");
  }

  @Override
  public Connection connect(InetSocketAddress address, Duration timeout, Connection.Handler handler)
      throws IOException {
    Objects.requireNonNull(handler, "handler");
    checkOpen();
    Socket socket = new Socket();
    try {
      socket.connect(address, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    } catch (IOException e) {
      socket.close();
      throw new IOException("cannot connect to " + address + ": " + e.getMessage(), e);
    }
    StreamConnection c;
    try {
      c = new StreamConnection(socket, handler);
    } catch (IOException e) {
      socket.close();
      throw e;
    }
    c.start();
    return c;
  }

  @Override
  public Listener listen(InetSocketAddress address, Acceptor acceptor) throws IOException {
    Objects.requireNonNull(acceptor, "acceptor");
    checkOpen();
    ServerSocket server = new ServerSocket();
    try {
      server.bind(address);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
    }
    SocketListener l = new SocketListener(server, acceptor);
    open.add(l);
    daemon("stream-transport-accept-" + server.getLocalPort(), l::acceptLoop).start();
    return l;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      for (AutoCloseable c : List.copyOf(open)) {
        try {
          c.close();
        } catch (Exception e) {
          throw new IllegalStateException("closing " + c + " failed: " + e.getMessage(), e);
        }
      }
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("transport is closed");
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // the connection is over either way; its readers see the end
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    return t;
  }

  private final class SocketListener implements Listener {
    private final ServerSocket server;
    private final Acceptor acceptor;

    SocketListener(ServerSocket server, Acceptor acceptor) {
      this.server = server;
      this.acceptor = acceptor;
    }

    void acceptLoop() {
      while (!server.isClosed()) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return; // closed: stop accepting
        }
        StreamConnection c;
        try {
          c = new StreamConnection(s, null);
        } catch (IOException e) {
          closeQuietly(s); // the peer vanished between accept and setup: nothing to deliver
          continue;
        }
        try {
          c.handler = Objects.requireNonNull(acceptor.accept(c), "the acceptor returned no handler");
        } catch (RuntimeException e) {
          c.close();
          continue;
        }
        c.start(); // only now: no message is delivered before the acceptor chose the handler
      }
    }

    @Override
    public InetSocketAddress localAddress() {
      return (InetSocketAddress) server.getLocalSocketAddress();
    }

    @Override
    public void close() {
      open.remove(this);
      try {
        server.close();
      } catch (IOException ignored) {
        // closing a listening socket has nothing to flush: nothing is lost
      }
    }

    @Override
    public String toString() {
      return "listener " + server.getLocalSocketAddress();
    }
  }

  private final class StreamConnection implements Connection {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ExecutorService writer;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final MessageCodec.Decoder decoder = codec.newPreHandshakeDecoder();
    volatile Connection.Handler handler;

    StreamConnection(Socket socket, Connection.Handler handler) throws IOException {
      this.socket = socket;
      socket.setTcpNoDelay(true);
      this.in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
      this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
      this.handler = handler;
      this.writer = Executors.newSingleThreadExecutor(
          r -> daemon("stream-transport-write-" + socket.getRemoteSocketAddress(), r));
      open.add(this);
    }

    void start() {
      daemon("stream-transport-read-" + socket.getRemoteSocketAddress(), this::readLoop).start();
    }

    /** Delivers frames until the stream ends; then, once, the end. */
    private void readLoop() {
      Throwable cause = null;
      try {
        // One frame at a time, each delivered before the next is read: the message that
        // completes the handshake raises the decoder's limit before the frame after it.
        for (Message m; (m = next()) != null; ) {
          framesReceived.incrementAndGet();
          handler.onMessage(this, m);
        }
      } catch (FrameException e) {
        write(codec.encodeError(e)); // the peer learns why; the close below follows it out
        cause = e;
      } catch (IOException e) {
        // A read failing because this side closed the socket is the orderly end it asked for.
        cause = closed.get() ? null : e;
      } catch (RuntimeException e) {
        cause = e; // the handler threw: end the connection rather than lose its order
      }
      close();
      handler.onClose(this, cause);
    }

    /**
     * The next message, or null at a clean end. A frame of an unknown type after the handshake
     * (a newer peer's) is answered with a non-fatal ERROR and read past: the connection stays
     * open (docs/PROTOCOL.md, "Versioning"). Any other refusal is thrown, to close.
     */
    private Message next() throws IOException {
      while (true) {
        try {
          return decoder.read(in);
        } catch (FrameException e) {
          if (e.fatal()) {
            throw e;
          }
          write(codec.encodeError(e)); // ERROR UNKNOWN_TYPE, reply_to its id, fatal: false
        }
      }
    }

    @Override
    public InetSocketAddress remoteAddress() {
      return (InetSocketAddress) socket.getRemoteSocketAddress();
    }

    @Override
    public void authenticated() {
      decoder.authenticated();
    }

    @Override
    public CompletableFuture<Void> send(Message message) {
      return write(codec.encode(message)); // a message that cannot be encoded throws here
    }

    private CompletableFuture<Void> write(byte[] frame) {
      if (closed.get()) {
        return CompletableFuture.failedFuture(new IOException("connection " + this + " is closed"));
      }
      CompletableFuture<Void> written = new CompletableFuture<>();
      try {
        writer.execute(() -> {
          try {
            out.write(frame);
            out.flush();
            framesSent.incrementAndGet();
            written.complete(null);
          } catch (IOException e) {
            written.completeExceptionally(e);
            close();
          }
        });
      } catch (RejectedExecutionException e) {
        return CompletableFuture.failedFuture(new IOException("connection " + this + " is closed"));
      }
      return written;
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
      open.remove(this);
      // Frames already queued go out first; the socket closes after them, which ends the
      // peer's stream (its onClose) and this side's read (its onClose).
      try {
        writer.execute(this::closeSocket);
      } catch (RejectedExecutionException e) {
        closeSocket();
      }
      writer.shutdown();
    }

    private void closeSocket() {
      closeQuietly(socket);
    }

    @Override
    public String toString() {
      return socket.getLocalSocketAddress() + "->" + socket.getRemoteSocketAddress();
    }
  }
}
