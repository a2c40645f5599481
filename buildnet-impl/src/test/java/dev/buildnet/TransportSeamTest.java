package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.client.RemoteBuildResult;
import dev.buildnet.client.RemoteClient;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.addon.AddOns;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import dev.buildnet.tck.InMemoryTransport;
import dev.buildnet.worker.Worker;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API's {@link Transport} is a seam a host can replace: a master, a worker and a client that
 * all move their frames through a transport the test supplies (in memory, no sockets, no
 * authentication of its own) complete a real build, with real processes on the worker; and the
 * shared-secret handshake still guards the master, since it runs above the transport.
 */
class TransportSeamTest {
  private static final long WAIT = 30;
  private static final TransportSettings SETTINGS = TransportSettings.ofSecret(
      "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8));

  @TempDir Path ws;
  @TempDir Path workDir;
  private final InMemoryTransport transport = new InMemoryTransport();
  private final MasterWorkers open = new MasterWorkers(null, WAIT);

  @AfterEach
  void closeAll() throws Exception {
    open.close();
    transport.close();
  }

  private BuildNet master() throws Exception {
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/in.txt"), "alpha\n");
    return open.track(BuildNet.builder().workspace(ws).localSlots(0) // only the worker runs targets
        .targets(List.of(
            Target.builder("a").command("bash", "-c", "tr a-z A-Z < src/in.txt > out/a.txt")
                .envPassthroughUnhashed("PATH").inputs("src/in.txt").outputs("out/a.txt").build(),
            Target.builder("b").command("bash", "-c", "cat out/a.txt out/a.txt > out/b.txt")
                .envPassthroughUnhashed("PATH").inputs("out/a.txt").outputs("out/b.txt")
                .dependsOn("a").build()))
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .transport(SETTINGS, transport)
        .start());
  }

  @Test
  void a_master_worker_and_client_build_through_a_host_transport() throws Exception {
    BuildNet net = master();
    InetSocketAddress at = net.listenAddress().orElseThrow();
    Worker w = open.track(BuildNet.worker().workerId("mem-worker").cpuSlots(2).memoryMb(1024)
        .workDir(workDir).transport(SETTINGS, transport).connect(at.getHostString(), at.getPort()));
    assertTrue(w.awaitConnected(Duration.ofSeconds(WAIT)));
    open.awaitRegistered(net, "mem-worker");
    RemoteClient client = open.track(RemoteClient.builder().address(at).transport(SETTINGS, transport)
        .clientId("mem-client").requestTimeout(Duration.ofSeconds(WAIT)).connect());

    RemoteBuildResult r = client.submit("b").result().get(WAIT, TimeUnit.SECONDS);

    assertTrue(r.success(), "build failed: " + r.error());
    assertEquals(2, r.executed(), "both targets ran: " + r.targets());
    assertEquals("ALPHA\nALPHA\n", Files.readString(ws.resolve("out/b.txt")));
    assertEquals(2, transport.connections.get(), "the worker's and the client's");
    assertTrue(transport.frames.get() > 10, "frames moved: " + transport.frames.get());
    assertEquals(List.of("mem-worker"),
        AddOns.master(net).orElseThrow().workers().stream().map(i -> i.id()).toList());
  }

  @Test
  void a_worker_heartbeats_as_often_as_the_master_asks_over_a_host_transport() throws Exception {
    // The master asks for a heartbeat every 50 ms (in HELLO_ACK); a worker's own default is
    // 20 s, so three heartbeats within the bound below come only from honouring the master.
    TransportSettings fast = TransportSettings.builder()
        .secret("a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8))
        .heartbeatInterval(Duration.ofMillis(50)).heartbeatTimeout(Duration.ofSeconds(30)).build();
    Files.createDirectories(ws.resolve("src"));
    BuildNet net = open.track(BuildNet.builder().workspace(ws).localSlots(0).targets(List.of())
        .listen(new InetSocketAddress("127.0.0.1", 0)).transport(fast, transport).start());
    InetSocketAddress at = net.listenAddress().orElseThrow();
    Worker w = open.track(BuildNet.worker().workerId("beating").cpuSlots(1).memoryMb(256)
        .workDir(workDir).transport(fast, transport).connect(at.getHostString(), at.getPort()));
    assertTrue(w.awaitConnected(Duration.ofSeconds(WAIT)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (heartbeats() < 3) {
      assertTrue(System.nanoTime() < deadline, "heartbeats sent: " + heartbeats());
      Thread.sleep(10); // polling a condition with a bound
    }
    assertTrue(w.isConnected());
  }

  private long heartbeats() {
    java.util.concurrent.atomic.AtomicLong n =
        transport.byType.get(dev.buildnet.api.transport.MessageType.HEARTBEAT);
    return n == null ? 0 : n.get();
  }

  @Test
  void a_client_with_another_secret_is_refused_over_the_host_transport() throws Exception {
    BuildNet net = master();
    InetSocketAddress at = net.listenAddress().orElseThrow();
    TransportSettings wrong = TransportSettings.ofSecret(
        "not the secret the master knows!".getBytes(StandardCharsets.UTF_8));
    BuildNetException e = assertThrows(BuildNetException.class, () -> open.track(
        RemoteClient.builder().address(at).transport(wrong, transport).clientId("intruder")
            .connectTimeout(Duration.ofSeconds(WAIT)).connect()));
    assertTrue(e.getMessage().contains("the shared secrets differ"), e.getMessage());
  }

  @Test
  void a_raw_peer_that_skips_the_handshake_gets_an_error_and_is_closed() throws Exception {
    BuildNet net = master();
    BlockingQueue<Message> heard = new LinkedBlockingQueue<>();
    CountDownLatch closed = new CountDownLatch(1);
    Transport.Connection raw = transport.connect(net.listenAddress().orElseThrow(),
        Duration.ofSeconds(WAIT), new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection c, Message m) {
            heard.add(m);
          }

          @Override
          public void onClose(Transport.Connection c, Throwable cause) {
            closed.countDown();
          }
        });
    Payloads.StateGet get = new Payloads.StateGet("secrets");
    raw.send(new Message(Protocol.MAJOR, get.type(), "1", 0, "jvm", get));

    assertTrue(closed.await(WAIT, TimeUnit.SECONDS), "the master kept an unauthenticated peer");
    Message reply = heard.poll();
    assertTrue(reply != null && reply.payload() instanceof Payloads.ErrorReply,
        "expected ERROR, got " + reply);
    assertEquals(ErrorCode.UNEXPECTED_MESSAGE.code(),
        ((Payloads.ErrorReply) reply.payload()).code());
    assertTrue(heard.isEmpty(), "nothing but the ERROR: " + heard);
    assertFalse(raw.isOpen());
  }

  @Test
  void a_listener_that_cannot_prove_the_secret_is_refused_by_the_client() throws Exception {
    // An impostor on the host transport plays the master's side of the handshake without the
    // secret: it challenges, then accepts with a made-up proof.
    Transport.Listener impostor = transport.listen(new InetSocketAddress("127.0.0.1", 0),
        c -> (conn, m) -> {
          if (m.payload() instanceof Payloads.Hello) {
            Payloads.AuthChallenge ch = new Payloads.AuthChallenge(m.id(), new byte[Payloads.NONCE_BYTES]);
            conn.send(new Message(Protocol.MAJOR, ch.type(), "c1", 0, "jvm", ch));
          } else if (m.payload() instanceof Payloads.AuthProof) {
            Payloads.HelloAck ack = new Payloads.HelloAck(m.id(), true, Protocol.MINOR, "master",
                new byte[32], null, null, null);
            conn.send(new Message(Protocol.MAJOR, ack.type(), "c2", 0, "jvm", ack));
          }
        });
    try {
      BuildNetException e = assertThrows(BuildNetException.class, () -> open.track(
          RemoteClient.builder().address(impostor.localAddress()).transport(SETTINGS, transport)
              .clientId("careful").connectTimeout(Duration.ofSeconds(WAIT)).connect()));
      assertTrue(e.getMessage().contains("could not prove it knows the shared secret"),
          e.getMessage());
    } finally {
      impostor.close();
    }
  }

  @Test
  void tls_settings_with_a_host_transport_are_refused_at_once() throws Exception {
    TransportSettings tls = TransportSettings.builder()
        .secret("a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8))
        .tls(SSLContext.getDefault()).build();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RemoteClient.builder().transport(tls, transport));
    assertTrue(e.getMessage().contains("leave tls unset"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> BuildNet.worker().transport(tls, transport));
    assertThrows(IllegalArgumentException.class,
        () -> BuildNet.builder().transport(tls, transport));
  }

  @Test
  void transport_is_set_once_whichever_shape_is_used() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> RemoteClient.builder().transport(SETTINGS).transport(SETTINGS, transport));
    assertTrue(e.getMessage().contains("transport was already set"), e.getMessage());
    assertThrows(IllegalStateException.class,
        () -> BuildNet.builder().transport(SETTINGS, transport).transport(SETTINGS));
  }
}
