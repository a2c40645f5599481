package dev.buildnet.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Transport} must have, as its Javadoc specifies it: connect and
 * listen, messages delivered whole and in order per connection, sends that never throw on a closed
 * connection, one {@code onClose} per side, idempotent closes, and a blocked handler that stalls
 * only its own connection. An implementation's test extends this class and supplies the listening
 * and connecting transports (the same instance where one transport serves both roles).
 *
 * <p>Payloads are protocol records a transport never interprets ({@code STATE_GET}, {@code
 * STATE_SET}): the kit checks that messages are moved, not what they mean.
 *
 * <p>Connections are told {@link Transport.Connection#authenticated()} on both sides before they
 * carry anything, as BuildNet's session layer does after its handshake; before it, the kit checks
 * only that frames up to the pre-handshake limit pass (what a transport refuses beyond that is
 * its own test's business: an in-process transport refuses nothing).
 */
public abstract class TransportCompatibilityKit {
  private static final long WAIT_SECONDS = 30;
  private static final AtomicLong IDS = new AtomicLong();

  /** The transport that listens (a master's). Closed after each test. */
  protected abstract Transport createListening() throws Exception;

  /** A transport that connects to {@code listening}'s listeners; may be the same instance. */
  protected abstract Transport createConnecting(Transport listening) throws Exception;

  private Transport listening;
  private Transport connecting;

  @BeforeEach
  void open() throws Exception {
    listening = createListening();
    connecting = createConnecting(listening);
  }

  @AfterEach
  void closeBoth() {
    if (connecting != listening) {
      connecting.close();
    }
    listening.close();
  }

  /** Records what a handler hears. */
  protected static final class Recorder implements Transport.Connection.Handler {
    final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final AtomicInteger closes = new AtomicInteger();
    final CountDownLatch closed = new CountDownLatch(1);
    volatile Transport.Connection seen;

    @Override
    public void onMessage(Transport.Connection connection, Message message) {
      seen = connection;
      messages.add(message);
    }

    @Override
    public void onClose(Transport.Connection connection, Throwable cause) {
      closes.incrementAndGet();
      closed.countDown();
    }

    Message next() throws InterruptedException {
      Message m = messages.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      assertNotNull(m, "no message within " + WAIT_SECONDS + " s");
      return m;
    }

    void awaitClosed() throws InterruptedException {
      assertTrue(closed.await(WAIT_SECONDS, TimeUnit.SECONDS), "onClose did not run");
    }
  }

  private static Message message(Payload p) {
    return new Message(Protocol.MAJOR, p.type(), "k" + IDS.incrementAndGet(),
        System.currentTimeMillis(), Protocol.RUNTIME, p);
  }

  private static Message get(String key) {
    return message(new Payloads.StateGet(key));
  }

  private record Pair(Transport.Connection client, Transport.Connection server,
      Recorder atClient, Recorder atServer, Transport.Listener listener) {}

  /** A connected pair whose peers both count as authenticated, as after the handshake. */
  private Pair pair() throws Exception {
    Pair p = unauthenticatedPair();
    p.server().authenticated();
    p.client().authenticated();
    return p;
  }

  private Pair unauthenticatedPair() throws Exception {
    Recorder atServer = new Recorder();
    CompletableFuture<Transport.Connection> accepted = new CompletableFuture<>();
    Transport.Listener l = listening.listen(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), c -> {
          accepted.complete(c);
          return atServer;
        });
    Recorder atClient = new Recorder();
    Transport.Connection c = connecting.connect(l.localAddress(), Duration.ofSeconds(WAIT_SECONDS), atClient);
    Transport.Connection s = accepted.get(WAIT_SECONDS, TimeUnit.SECONDS);
    return new Pair(c, s, atClient, atServer, l);
  }

  @Test
  void a_listener_reports_the_port_it_bound_when_asked_for_port_0() throws Exception {
    try (Transport.Listener l = listening.listen(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), c -> new Recorder())) {
      assertTrue(l.localAddress().getPort() > 0, "bound to " + l.localAddress());
    }
  }

  @Test
  void messages_arrive_whole_and_in_order_both_ways() throws Exception {
    Pair p = pair();
    for (int i = 0; i < 300; i++) {
      p.client().send(get("up-" + i));
      p.server().send(get("down-" + i));
    }
    for (int i = 0; i < 300; i++) {
      Message up = p.atServer().next();
      assertEquals("up-" + i, ((Payloads.StateGet) up.payload()).key());
      Message down = p.atClient().next();
      assertEquals("down-" + i, ((Payloads.StateGet) down.payload()).key());
    }
    assertTrue(p.atServer().seen.isOpen());
  }

  @Test
  void the_envelope_is_kept() throws Exception {
    Pair p = pair();
    Payloads.StateGet get = new Payloads.StateGet("k");
    Message sent = new Message(Protocol.MAJOR, get.type(), "env-1", 1_700_000_000_123L, "python", get);
    p.client().send(sent).get(WAIT_SECONDS, TimeUnit.SECONDS);
    Message got = p.atServer().next();
    assertEquals(sent.id(), got.id());
    assertEquals(sent.timestamp(), got.timestamp());
    assertEquals(sent.runtime(), got.runtime());
    assertEquals(sent.type(), got.type());
  }

  @Test
  void a_large_message_round_trips_byte_for_byte() throws Exception {
    Pair p = pair();
    byte[] value = new byte[4 << 20];
    new Random(7).nextBytes(value);
    p.client().send(message(new Payloads.StateSet("big", value, null, null, null)))
        .get(WAIT_SECONDS, TimeUnit.SECONDS);
    Payloads.StateSet got = (Payloads.StateSet) p.atServer().next().payload();
    assertTrue(java.util.Arrays.equals(value, got.value()), "the 4 MiB value changed in transit");
  }

  @Test
  void before_authentication_a_message_just_under_the_pre_handshake_limit_passes_both_ways()
      throws Exception {
    Pair p = unauthenticatedPair();
    // 60,000 value bytes: a frame of about 60 KB, under the 65,536 allowed before the handshake.
    byte[] value = new byte[60_000];
    new Random(11).nextBytes(value);
    p.client().send(message(new Payloads.StateSet("up", value, null, null, null)));
    p.server().send(message(new Payloads.StateSet("down", value, null, null, null)));
    assertTrue(java.util.Arrays.equals(value,
        ((Payloads.StateSet) p.atServer().next().payload()).value()), "the value changed");
    assertTrue(java.util.Arrays.equals(value,
        ((Payloads.StateSet) p.atClient().next().payload()).value()), "the value changed");
  }

  @Test
  void authenticated_is_idempotent_and_safe_from_any_thread() throws Exception {
    Pair p = unauthenticatedPair();
    // Several threads at once, each telling both sides more than once, while messages flow.
    int threads = 4;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> tellers = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < threads; t++) {
      Thread th = new Thread(() -> {
        try {
          start.await();
          for (int i = 0; i < 3; i++) {
            p.server().authenticated();
            p.client().authenticated();
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      });
      th.start();
      tellers.add(th);
    }
    p.client().send(get("during"));
    start.countDown();
    for (Thread th : tellers) {
      th.join(WAIT_SECONDS * 1000);
      assertFalse(th.isAlive(), "authenticated() did not return");
    }
    assertEquals(List.of(), failures);
    assertEquals("during", ((Payloads.StateGet) p.atServer().next().payload()).key());

    byte[] value = new byte[2 << 20]; // over the pre-handshake limit: the limit rose
    new Random(13).nextBytes(value);
    p.client().send(message(new Payloads.StateSet("up", value, null, null, null)));
    p.server().send(message(new Payloads.StateSet("down", value, null, null, null)));
    assertTrue(java.util.Arrays.equals(value,
        ((Payloads.StateSet) p.atServer().next().payload()).value()), "the 2 MiB value changed");
    assertTrue(java.util.Arrays.equals(value,
        ((Payloads.StateSet) p.atClient().next().payload()).value()), "the 2 MiB value changed");
    assertTrue(p.client().isOpen() && p.server().isOpen());
  }

  @Test
  void concurrent_senders_lose_nothing_and_keep_each_senders_order() throws Exception {
    Pair p = pair();
    int threads = 4;
    int each = 200;
    List<Thread> senders = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      senders.add(new Thread(() -> {
        for (int i = 0; i < each; i++) {
          p.client().send(get(id + ":" + i));
        }
      }));
    }
    senders.forEach(Thread::start);
    for (Thread t : senders) {
      t.join(WAIT_SECONDS * 1000);
    }
    int[] last = new int[threads];
    java.util.Arrays.fill(last, -1);
    for (int n = 0; n < threads * each; n++) {
      String[] k = ((Payloads.StateGet) p.atServer().next().payload()).key().split(":");
      int id = Integer.parseInt(k[0]);
      int i = Integer.parseInt(k[1]);
      assertEquals(last[id] + 1, i, "sender " + id + "'s messages out of order");
      last[id] = i;
    }
  }

  @Test
  void a_blocked_handler_stalls_only_its_own_connection() throws Exception {
    Pair slow = pair();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch blocked = new CountDownLatch(1);
    Transport.Listener l = listening.listen(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
        c -> new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection connection, Message message) {
            blocked.countDown();
            try {
              release.await(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        });
    try {
      Transport.Connection stuck =
          connecting.connect(l.localAddress(), Duration.ofSeconds(WAIT_SECONDS), new Recorder());
      stuck.send(get("block"));
      assertTrue(blocked.await(WAIT_SECONDS, TimeUnit.SECONDS));
      slow.client().send(get("still-moving"));
      assertEquals("still-moving", ((Payloads.StateGet) slow.atServer().next().payload()).key());
    } finally {
      release.countDown();
      l.close();
    }
  }

  @Test
  void closing_one_side_runs_on_close_once_on_each_side() throws Exception {
    Pair p = pair();
    p.client().close();
    p.client().close(); // idempotent
    p.atServer().awaitClosed();
    p.atClient().awaitClosed();
    assertFalse(p.client().isOpen());
    assertTrue(waitUntil(() -> !p.server().isOpen()), "the server side still says it is open");
    p.server().close();
    assertEquals(1, p.atServer().closes.get());
    assertEquals(1, p.atClient().closes.get());
  }

  @Test
  void a_message_sent_before_close_arrives_before_on_close() throws Exception {
    Pair p = pair();
    p.client().send(get("last-words"));
    p.atServer().next();
    p.client().close();
    p.atServer().awaitClosed();
  }

  @Test
  void sending_on_a_closed_connection_fails_the_future_and_does_not_throw() throws Exception {
    Pair p = pair();
    p.client().close();
    CompletableFuture<Void> f = p.client().send(get("too-late"));
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> f.get(WAIT_SECONDS, TimeUnit.SECONDS));
    assertNotNull(e.getCause());
  }

  @Test
  void connecting_where_nothing_listens_throws_io_exception() throws Exception {
    // The port is held by a bound socket that never listens for as long as the connect runs: a
    // port merely closed before it could be taken by another listener on the machine meanwhile.
    try (Socket holder = new Socket()) {
      holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      InetSocketAddress nowhere = (InetSocketAddress) holder.getLocalSocketAddress();
      assertThrows(IOException.class,
          () -> connecting.connect(nowhere, Duration.ofSeconds(5), new Recorder()));
    }
  }

  @Test
  void a_closed_listener_keeps_its_connections() throws Exception {
    Pair p = pair();
    p.listener().close();
    p.listener().close(); // idempotent
    p.client().send(get("after-listener-closed"));
    assertEquals("after-listener-closed",
        ((Payloads.StateGet) p.atServer().next().payload()).key());
    assertThrows(IOException.class, () -> connecting.connect(
        p.listener().localAddress(), Duration.ofSeconds(5), new Recorder()));
  }

  @Test
  void closing_the_transport_closes_its_connections_and_is_idempotent() throws Exception {
    Pair p = pair();
    listening.close();
    listening.close();
    p.atServer().awaitClosed();
    p.atClient().awaitClosed();
    assertEquals(1, p.atServer().closes.get());
    assertThrows(IllegalStateException.class, () -> listening.listen(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), c -> new Recorder()));
  }

  @Test
  void an_orderly_close_has_no_cause() throws Exception {
    Pair p = pair();
    Throwable[] cause = {new Throwable("unset")};
    CountDownLatch done = new CountDownLatch(1);
    Transport.Listener l = listening.listen(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), c -> new Recorder());
    Transport.Connection c = connecting.connect(l.localAddress(), Duration.ofSeconds(WAIT_SECONDS),
        new Transport.Connection.Handler() {
          @Override
          public void onMessage(Transport.Connection connection, Message message) {}

          @Override
          public void onClose(Transport.Connection connection, Throwable t) {
            cause[0] = t;
            done.countDown();
          }
        });
    c.close();
    assertTrue(done.await(WAIT_SECONDS, TimeUnit.SECONDS));
    assertNull(cause[0]);
    l.close();
    p.client().close();
  }

  private static boolean waitUntil(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (System.nanoTime() < until) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(10);
    }
    return condition.getAsBoolean();
  }
}
