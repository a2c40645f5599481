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
 * inside itself, so that it can also keep per-address caps on unauthenticated connections; the
 * same frames cross the wire.)
 *
 * <p>What the transport does keep is the size of what an unauthenticated peer can make it hold:
 * until the handshake completes, frames are at most 65,536 bytes ({@code docs/PROTOCOL.md},
 * "Decoding limits"), refused from their length prefix. The session layer calls {@link
 * Connection#authenticated()} on each connection once its peer has proven it knows the secret;
 * from then on frames up to {@link TransportSettings#maxFrameBytes()} are accepted.
 *
 * <h2>Contract</h2>
 *
 * <ul>
 *   <li><b>Threads.</b> Safe for concurrent use; {@link Connection#send} may be called from any
 *       thread, concurrently. Messages for one connection are delivered to its {@link
 *       Connection.Handler} one at a time, in the order they were sent, on a thread of the
 *       transport; a handler that blocks stalls only its own connection. BuildNet's session layer
 *       blocks in {@code onMessage} on purpose while it holds more than 16 MiB that the peer
 *       sent and it has not yet handled, until that falls to half or the connection is closed on
 *       this side (it watches {@link Connection#isOpen()}): a transport that reads the connection
 *       on the delivering thread then stops reading it, which pushes back on the peer (TCP flow
 *       control); one that reads ahead into a queue of its own should bound that queue.
 *       {@link Acceptor#accept} runs before any message of its connection is delivered.
 *   <li><b>Framing.</b> Each {@link Message} arrives whole and equal to what was sent (envelope and
 *       payload). A transport that crosses a process boundary encodes it as a protocol frame
 *       ({@code docs/PROTOCOL.md}) with {@code dev.buildnet.MessageCodec} (in buildnet-impl, the
 *       TCP transport's own codec; make it with {@code
 *       MessageCodec.withMaxFrameBytes(settings.maxFrameBytes())}), which bounds what it reads
 *       before allocating and refuses bad bytes with a {@code FrameException}: send the peer
 *       {@code codec.encodeError(e)}, then close the connection with it as the cause; except when
 *       its {@code fatal()} is false (a frame of an unknown type after the handshake), which that
 *       ERROR answers while the connection stays open and reads on ({@code docs/PROTOCOL.md},
 *       "Versioning").
 *   <li><b>Before the handshake.</b> Such a transport decodes each connection's frames with a
 *       decoder from {@code codec.newPreHandshakeDecoder()}, which refuses frames over 65,536
 *       bytes, and calls its {@code authenticated()} from {@link Connection#authenticated()}. An
 *       in-process transport, which decodes nothing, keeps the default (nothing to do).
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

    /**
     * The peer has completed the handshake (proven it knows the shared secret): accept frames up
     * to {@link TransportSettings#maxFrameBytes()} from it from now on, instead of the 65,536
     * bytes allowed before. BuildNet's session layer calls it once per side, on the thread that
     * delivered the message completing the handshake, before it returns from {@code onMessage}: on
     * the connecting side for the HELLO_ACK, on the listening side for the AUTH_PROOF (before its
     * HELLO_ACK is sent, so nothing larger can arrive first). A transport that decodes ahead of
     * delivery must not read past that message's frame until it has been delivered.
     *
     * <p>Idempotent and safe from any thread. The default does nothing: right for a transport
     * that decodes no bytes from the peer (an in-process channel).
     *
     * @since 0.4
     */
    default void authenticated() {}

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
