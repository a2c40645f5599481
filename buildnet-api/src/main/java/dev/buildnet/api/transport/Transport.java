package dev.buildnet.api.transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Moves protocol {@link Message}s between a master and its workers and clients: the seam a host
 * replaces to carry BuildNet over something other than its built-in TCP transport (an in-process
 * channel, a tunnel, a message bus). Hand it with the {@link TransportSettings} to the master
 * ({@code BuildNet.builder().transport(settings, transport)}), the workers and the clients ({@code
 * .transport(settings, transport)} on their builders); without one they use TCP.
 *
 * <h2>What a transport does, and what it does not</h2>
 *
 * It moves whole messages, in order per connection, and reports when a connection ends. It need
 * not authenticate, interpret or answer anything: BuildNet's session layer runs above it on every
 * connection it hands out, and does the HELLO / AUTH_CHALLENGE / AUTH_PROOF / HELLO_ACK handshake
 * with the settings' shared secret, heartbeats, and the matching of replies to requests. A peer
 * reaches the master's services only after proving it knows the secret, whatever the transport
 * does; one that sends anything else first gets an ERROR and is disconnected, and one silent past
 * the settings' handshake timeout is disconnected. (The built-in TCP transport authenticates
 * inside itself, so that it can also keep frame limits and per-address caps before the
 * handshake; the same frames cross the wire.)
 *
 * <h2>Contract</h2>
 *
 * <ul>
 *   <li><b>Threads.</b> Safe for concurrent use; {@link Connection#send} may be called from any
 *       thread, concurrently. Messages for one connection are delivered to its {@link
 *       Connection.Handler} one at a time, in the order they were sent, on a thread of the
 *       transport; a handler that blocks stalls only its own connection. {@link Acceptor#accept}
 *       runs before any message of its connection is delivered.
 *   <li><b>Framing.</b> Each {@link Message} arrives whole and equal to what was sent (envelope and
 *       payload). A transport that crosses a process boundary encodes it as a protocol frame
 *       ({@code docs/PROTOCOL.md}) with {@code dev.buildnet.MessageCodec} (in buildnet-impl, the
 *       TCP transport's own codec; make it with {@code
 *       MessageCodec.withMaxFrameBytes(settings.maxFrameBytes())}), which bounds what it reads
 *       before allocating and refuses bad bytes with a {@code FrameException}: close the
 *       connection with it as the cause.
 *   <li><b>Close.</b> Closing either end of a connection closes both; each side's {@code onClose}
 *       runs exactly once, after the messages already delivered to it, with a null cause for an
 *       orderly close. Every {@code close()} here is idempotent. Closing a {@link Listener} stops
 *       new connections only; closing the transport closes everything it opened.
 *   <li><b>Errors.</b> {@link #connect} and {@link #listen} throw {@link IOException} with a
 *       one-line reason when nothing listens or the address cannot be bound; {@link
 *       Connection#send} never throws for a closed connection (its future fails instead) and
 *       throws only for a message it cannot encode.
 * </ul>
 *
 * <p>{@code TransportCompatibilityKit} (package {@code dev.buildnet.tck} in buildnet-impl's test
 * jar) checks these points; a transport's test extends it. {@code StreamTransport} beside it is a
 * whole transport over plain sockets built on {@code MessageCodec} alone, to read or copy.
 *
 * @since 0.1
 */
public interface Transport extends AutoCloseable {

  /**
   * Opens a connection to a listening peer within {@code timeout} (including the transport's own
   * handshake, if it has one).
   *
   * @throws IOException if the peer cannot be reached or refuses (the message says why)
   */
  Connection connect(InetSocketAddress address, Duration timeout, Connection.Handler handler)
      throws IOException;

  /**
   * Accepts connections on {@code address} (port 0 picks a free port); each accepted connection
   * gets the handler {@code acceptor} returns for it.
   */
  Listener listen(InetSocketAddress address, Acceptor acceptor) throws IOException;

  /** Closes every listener and connection this transport opened; idempotent. */
  @Override
  void close();

  /** Chooses a handler for a newly accepted connection. */
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

  /** One bidirectional connection that moves whole messages, in order. */
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
