package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads.Hello;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One authenticated protocol conversation with a peer: what the master, the worker and the client
 * talk through, whatever {@link Transport} moves their frames. It knows who the peer is (from its
 * HELLO or HELLO_ACK), stamps outgoing envelopes, and matches replies to requests.
 *
 * <p>Two implementations: the built-in TCP transport's {@link PeerConnection} (which runs the
 * handshake and reply matching itself, on its selector loop) and {@link FramedSession}, which runs
 * both above any other {@link Transport}, so a host's transport cannot skip authentication.
 */
public interface Session extends Transport.Connection {

  /** The session behind a connection a session transport handed out. */
  static Session of(Transport.Connection connection) {
    if (connection instanceof Session s) {
      return s;
    }
    throw new IllegalArgumentException(
        "not a BuildNet session: " + connection.getClass().getName()
            + " (connections reach the master, worker and client only through their session layer)");
  }

  /** The peer's id: its HELLO {@code peer_id}, or the listener's id on a connecting side. */
  String peerId();

  /** The peer's HELLO (role, capabilities, resources); null on the connecting side. */
  Hello peerHello();

  /** The {@code runtime} of the peer's HELLO envelope (e.g. {@code jvm}); null on the connecting side. */
  String peerRuntime();

  /** On the connecting side, the algorithm of the listener's blob store from its HELLO_ACK; null if unsaid. */
  String peerBlobAlgorithm();

  /** The minor version both sides speak: the smaller of the two. */
  int minorVersion();

  /** A message from this side: this protocol version, a fresh id, this side's clock. */
  Message message(Payload payload);

  /**
   * Whether {@link #send(Message)} has encoded the message by the time it returns, so the caller
   * may then reuse the arrays of its payload (a download reuses its chunk buffers). False unless
   * the implementation guarantees it: a host's transport may hold the message itself.
   */
  default boolean encodesOnSend() {
    return false;
  }

  /** Wraps {@code payload} in an envelope with a fresh id and sends it. */
  default CompletableFuture<Void> send(Payload payload) {
    return send(message(payload));
  }

  /**
   * Sends {@code payload} as a request and completes with the reply naming it ({@code reply_to});
   * an ERROR reply completes exceptionally with {@link RemoteErrorException}, no reply within
   * {@code timeout} with {@link java.util.concurrent.TimeoutException} (the peer may still have
   * acted on it), and a closed connection with {@link dev.buildnet.api.BuildNetException}.
   * Completes on a transport thread: chain with the {@code ...Async} methods to do real work.
   */
  default CompletableFuture<Message> request(Payload payload, Duration timeout) {
    return request(payload, timeout, null);
  }

  /**
   * Like {@link #request(Payload, Duration)}, for a caller that does not wait for the reply on
   * this thread: if the thread is {@link Cork corked}, the write may be left to the cork, so that
   * the requests it sends to this connection meanwhile leave in one write. By default, as {@code
   * request}.
   */
  default CompletableFuture<Message> requestBatched(Payload payload, Duration timeout) {
    return request(payload, timeout);
  }

  /**
   * Like {@link #request(Payload, Duration)} for requests answered by a stream of replies (BLOB_GET
   * is answered by BLOB_CHUNKs): each reply but the last goes to {@code partial}; the future
   * completes with the last ({@code last} true, or an ERROR). {@code timeout} bounds the stream.
   */
  CompletableFuture<Message> request(Payload payload, Duration timeout, Consumer<Message> partial);

  /**
   * For an {@link InlineHandler} that queues the message it is handling for later: call during
   * its {@code onMessage} (on the transport's thread), and run what this returns (once, from any
   * thread) when the message has been handled. Meanwhile its frame counts against the
   * connection's inbound backlog, and a connection whose backlog passes the high-water mark is
   * not read until it drains (TCP flow control pushes back on the peer): {@link PeerConnection}
   * stops reading its socket, {@link FramedSession} blocks the host transport's delivery thread.
   * The default, for a session that bounds nothing, returns an action that does nothing.
   */
  default Runnable holdInbound() {
    return () -> {};
  }
}
