package dev.buildnet.api.transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Frames and delivers protocol {@link Message}s between a master and its workers and clients.
 *
 * <p>Implementations must be safe for concurrent use. {@link #connect} and {@link #listen} block
 * until the connection or listening socket is up. Received messages are delivered to the
 * {@link Connection.Handler} on a transport thread, in order per connection.
 *
 * @since 0.1
 */
public interface Transport {

  /** Opens a connection to a listening peer. */
  Connection connect(InetSocketAddress address, Duration timeout, Connection.Handler handler)
      throws IOException;

  /**
   * Accepts connections on {@code address} (port 0 picks a free port); each accepted connection
   * gets the handler {@code acceptor} returns for it.
   */
  Listener listen(InetSocketAddress address, Acceptor acceptor) throws IOException;

  /** Chooses a handler for a newly accepted connection. */
  @FunctionalInterface
  interface Acceptor {
    Connection.Handler accept(Connection connection);
  }

  /** A listening socket. Closing it stops accepting; open connections are not affected. */
  interface Listener extends AutoCloseable {
    InetSocketAddress localAddress();

    @Override
    void close();
  }

  /** One framed, bidirectional connection. */
  interface Connection extends AutoCloseable {
    InetSocketAddress remoteAddress();

    /** Queues {@code message} for sending; never blocks on a slow peer beyond its send buffer. */
    void send(Message message);

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
