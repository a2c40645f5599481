package dev.buildnet.bench;

import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Auth;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.Payloads.AuthChallenge;
import dev.buildnet.internal.protocol.Payloads.AuthProof;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.Hello;
import dev.buildnet.internal.protocol.Payloads.HelloAck;
import dev.buildnet.internal.protocol.Protocol;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The other end of {@link ManyConnectionsBenchmark}, in its own process (one JVM cannot hold both
 * ends of 10,000 sockets under a 20,000-descriptor limit): {@code idle} authenticated clients that
 * only send HEARTBEAT every 4 s, and {@code flood} unauthenticated sockets that trickle a byte of
 * a frame that never completes every second, reopened when the master closes them. Prints {@code
 * ready} once all are up; exits when stdin closes.
 *
 * <p>Linux: the sockets come from 127.0.0.2 and up, so that no address is over the master's
 * per-address caps (as if each came from its own host).
 */
public final class IdlePeers {
  public static void main(String[] args) throws Exception {
    InetSocketAddress master = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    int idle = Integer.parseInt(args[2]);
    int flood = Integer.parseInt(args[3]);
    byte[] secret = HexFormat.of().parseHex(args[4]);
    FrameCodec codec = FrameCodec.withDefaults();
    SecureRandom random = new SecureRandom();
    List<Socket> idlers = new ArrayList<>();
    byte[] heartbeat = codec.encode(new Message(Protocol.MAJOR,
        dev.buildnet.api.transport.MessageType.HEARTBEAT, "hb", 0, "bench", new Heartbeat(null)));
    long nextHeartbeat = System.nanoTime() + 4_000_000_000L;
    for (int i = 0; i < idle; i++) {
      if (System.nanoTime() - nextHeartbeat >= 0) { // setting up may take longer than the timeout
        nextHeartbeat = System.nanoTime() + 4_000_000_000L;
        for (Socket s : idlers) {
          s.getOutputStream().write(heartbeat);
        }
      }
      Socket s = new Socket();
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0." + (2 + i / 2000)), 0));
      s.connect(master, 10_000);
      s.setSoTimeout(30_000);
      handshake(s, codec, secret, "idle-" + i, random);
      idlers.add(s);
    }
    Socket[] floods = new Socket[flood];
    for (int i = 0; i < flood; i++) {
      floods[i] = floodSocket(master, i);
    }
    System.out.println("ready " + idlers.size() + " idle, " + flood + " unauthenticated");
    System.out.flush();
    Thread stop = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // wait for the parent to close our stdin
        }
      } catch (IOException ignored) {
        // parent gone
      }
      System.exit(0);
    });
    stop.setDaemon(true);
    stop.start();
    while (true) {
      long now = System.nanoTime();
      if (now - nextHeartbeat >= 0) {
        nextHeartbeat = now + 4_000_000_000L;
        for (Socket s : idlers) {
          s.getOutputStream().write(heartbeat); // acks stay unread: a few bytes each
        }
      }
      for (int i = 0; i < flood; i++) {
        try {
          floods[i].getOutputStream().write(0);
        } catch (IOException e) {
          floods[i].close();
          floods[i] = floodSocket(master, i);
        }
      }
      Thread.sleep(1000);
    }
  }

  private static Socket floodSocket(InetSocketAddress master, int i) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(InetAddress.getByName("127.0.1." + (1 + i / 8)), 0));
    s.connect(master, 10_000);
    // A prefix declaring the largest pre-handshake frame, then a byte at a time.
    s.getOutputStream().write(ByteBuffer.allocate(4).putInt(FrameCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES).array());
    return s;
  }

  private static void handshake(Socket s, FrameCodec codec, byte[] secret, String id, SecureRandom random)
      throws IOException {
    FrameReader in = new FrameReader(s.getInputStream(), codec);
    byte[] nonce = Auth.nonce(random);
    s.getOutputStream().write(codec.encode(message(new Hello(Hello.CLIENT, id, Protocol.MINOR, nonce, null, null, null))));
    Message challenge = codec.decodeBody(in.next());
    if (!(challenge.payload() instanceof AuthChallenge c)) {
      throw new IOException(id + ": expected AUTH_CHALLENGE but got " + challenge.payload());
    }
    s.getOutputStream().write(codec.encode(message(
        new AuthProof(challenge.id(), Auth.clientProof(secret, c.nonce(), nonce, Hello.CLIENT, id)))));
    Message ack = codec.decodeBody(in.next());
    if (!(ack.payload() instanceof HelloAck a) || !a.accepted()) {
      throw new IOException(id + ": not accepted: " + ack.payload());
    }
  }

  private static Message message(dev.buildnet.api.transport.Payload p) {
    return new Message(Protocol.MAJOR, p.type(), Long.toString(System.nanoTime(), 36), 0, "bench", p);
  }

  private IdlePeers() {}
}
