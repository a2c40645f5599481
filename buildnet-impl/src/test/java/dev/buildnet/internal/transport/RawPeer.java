package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.internal.protocol.Auth;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.Payloads.AuthChallenge;
import dev.buildnet.internal.protocol.Payloads.AuthProof;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Payloads.HelloAck;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.util.List;

/** A hand-driven peer on a plain socket: sends exactly the bytes a test wants. */
final class RawPeer implements AutoCloseable {
  final Socket socket;
  final OutputStream out;
  final FrameCodec codec = FrameCodec.withDefaults();
  final FrameReader reader;
  private int ids;

  RawPeer(InetSocketAddress address) throws IOException {
    this(connected(address));
  }

  /** Over a socket already connected (e.g. an SSLSocket). */
  RawPeer(Socket connected) throws IOException {
    socket = connected;
    socket.setSoTimeout(10_000);
    out = socket.getOutputStream();
    reader = new FrameReader(socket.getInputStream(), codec);
  }

  private static Socket connected(InetSocketAddress address) throws IOException {
    Socket s = new Socket();
    s.connect(address, 5000);
    return s;
  }

  Message message(int version, Payload p) {
    return new Message(version, p.type(), "r-" + (++ids), 0, "raw", p);
  }

  Message send(Payload p) throws IOException {
    Message m = message(1, p);
    sendBytes(codec.encode(m));
    return m;
  }

  void sendBytes(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  void trickle(byte[] bytes) throws IOException {
    for (byte b : bytes) {
      out.write(b);
      out.flush();
    }
  }

  /** The next message, or null at end of stream. */
  Message read() throws IOException {
    byte[] body = reader.next();
    return body == null ? null : codec.decodeBody(body);
  }

  /** True if the peer closed the connection (end of stream or reset) before sending more. */
  boolean closedByPeer() throws IOException {
    try {
      return socket.getInputStream().read() < 0;
    } catch (java.net.SocketException e) {
      return true;
    }
  }

  /** Runs the connecting side of the handshake as a worker; returns the HELLO_ACK. */
  HelloAck handshake(byte[] secret, String id) throws IOException {
    byte[] nonce = Auth.nonce(new SecureRandom());
    send(new Hello("worker", id, 0, nonce, List.of(), 1L, 1L));
    Message challenge = read();
    byte[] serverNonce = ((AuthChallenge) challenge.payload()).nonce();
    send(new AuthProof(challenge.id(), Auth.clientProof(secret, serverNonce, nonce, "worker", id)));
    return (HelloAck) read().payload();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
