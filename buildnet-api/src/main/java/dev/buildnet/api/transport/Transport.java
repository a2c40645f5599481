package dev.buildnet.api.transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Frames and delivers protocol {@link Message}s between a master and its workers and clients.
 *
 * <p>Implementations must be safe for concurrent use. {@link #connect} and {@link #listen} block
 * until the connection (including any authentication handshake) or listening socket is up.
 * Received messages are delivered to the {@link Connection.Handler} on a transport thread, in
 * order per connection; a handler that blocks stalls only its own connection.
 *
 * @since 0.1
 */
public interface Transport extends AutoCloseable {

  /**
   * Opens a connection to a listening peer and completes the handshake within {@code timeout}.
   *
   * @throws IOException if the peer cannot be reached or the handshake fails or is refused (the
   *     message says why)
   */
  Connection connect(InetSocketAddress address, Duration timeout, Connection.Handler handler)
      throws IOException;

  /**
   * Accepts connections on {@code address} (port 0 picks a free port); each accepted connection
   * that passes the handshake gets the handler {@code acceptor} returns for it.
   */
  Listener listen(InetSocketAddress address, Acceptor acceptor) throws IOException;

  /** Closes every listener and connection this transport opened; idempotent. */
  @Override
  void close();

  /** Chooses a handler for a newly accepted, authenticated connection. */
  @FunctionalInterface
  interface Acceptor {
    Connection.Handler accept(Connection connection);
  }

  /** A listening socket. Closing it stops accepting; open connections are not affected. */
  interface Listener extends AutoCloseable {
    InetSocketAddress localAddress();

    /** Stops accepting; idempotent. */
    @Override
    void close();
  }

  /** One framed, bidirectional, authenticated connection. */
  interface Connection extends AutoCloseable {
    InetSocketAddress remoteAddress();

    /**
     * Queues {@code message} for sending and returns at once; never blocks on a slow peer.
     *
     * @return completes when the frame was written to the socket, or exceptionally if the
     *     connection closed first (a peer too slow to drain its queue gets disconnected)
     */
    CompletableFuture<Void> send(Message message);

    boolean isOpen();

    /** Closes the connection; idempotent. The handler's {@code onClose} runs once. */
    @Override
    void close();

    /** Receives a connection's messages and its end. */
    interface Handler {
      void onMessage(Connection connection, Message message);

      /** The connection ended: {@code cause} is null for an orderly close. */
      default void onClose(Connection connection, Throwable cause) {}
    }
  }
}
