package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.protocol.Payloads.StateResponse;
import dev.buildnet.internal.protocol.Payloads.StateSet;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a peer that has not authenticated can make a listener spend: no thread, memory only as its
 * bytes arrive and never more than the pre-handshake limit, and a place among a bounded number of
 * unauthenticated connections, which never keeps an authenticating peer out.
 */
class UnauthenticatedPeersTest {
  static final byte[] SECRET = TcpTransportTest.SECRET;
  static final Duration T = Duration.ofSeconds(30);

  TcpTransport server;
  TcpTransport client;
  final List<Socket> sockets = new ArrayList<>();

  /** Answers STATE_GET with the key, and STATE_SET with the value's length; on the loop. */
  static final Transport.Acceptor ECHO = connection -> (InlineHandler) (c, m) -> {
    PeerConnection p = PeerConnection.of(c);
    if (m.payload() instanceof StateGet get) {
      p.send(new StateResponse(m.id(), true, get.key().getBytes(UTF_8)));
    } else if (m.payload() instanceof StateSet set) {
      p.send(new StateResponse(m.id(), true, Integer.toString(set.value().length).getBytes(UTF_8)));
    }
  };

  InetSocketAddress listen(TcpTransport.Builder b) throws IOException {
    return listen(b, TransportSettings.ofSecret(SECRET));
  }

  InetSocketAddress listen(TcpTransport.Builder b, TransportSettings settings) throws IOException {
    server = b.transport(settings).localId("master-1").build();
    return server.listen(0, ECHO).localAddress();
  }

  PeerConnection connect(InetSocketAddress address) throws IOException {
    if (client == null) {
      client = TcpTransportTest.workerTransport(SECRET).build();
    }
    return client.connect(address, T, (c, m) -> {});
  }

  static void assertEcho(PeerConnection c, String key) throws Exception {
    Message reply = c.request(new StateGet(key), T).get(30, TimeUnit.SECONDS);
    assertArrayEquals(key.getBytes(UTF_8), ((StateResponse) reply.payload()).value());
  }

  Socket open(InetSocketAddress address) throws IOException {
    Socket s = new Socket();
    sockets.add(s);
    s.connect(address, 10_000);
    s.setSoTimeout(30_000);
    return s;
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  /** The next frame from the listener, which must be a fatal ERROR with {@code code}, then EOF. */
  static ErrorReply assertRefused(Socket s, ErrorCode code) throws IOException {
    FrameCodec codec = FrameCodec.withDefaults();
    byte[] body = new FrameReader(s.getInputStream(), codec).next();
    assertNotNull(body, "the listener closed without saying why");
    ErrorReply e = assertInstanceOf(ErrorReply.class, codec.decodeBody(body).payload());
    assertEquals(code.code(), e.code(), e.message());
    assertTrue(e.fatal());
    assertEquals(-1, s.getInputStream().read(), "the listener closes after the ERROR");
    return e;
  }

  static byte[] prefix(long declared) {
    return ByteBuffer.allocate(4).putInt((int) declared).array();
  }

  @AfterEach
  void stop() throws IOException {
    for (Socket s : sockets) {
      s.close();
    }
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void thousandTricklingSockets_holdNoThreadAndLittleHeap_andALegitimateClientStillGetsIn()
      throws Exception {
    // One address for all, so the per-address cap stays out of the way: the global one works.
    InetSocketAddress address = listen(TcpTransport.builder()
        .idleTimeout(Duration.ofMinutes(2)).maxUnauthenticatedPerAddress(5000),
        TransportSettings.builder().secret(SECRET).handshakeTimeout(Duration.ofMinutes(2)).build());
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    long heapBefore = usedHeapAfterGc();

    for (int i = 0; i < 1000; i++) {
      Socket s = open(address);
      byte[] start = switch (i % 4) {
        case 0 -> new byte[] {0, 1}; // half a prefix
        case 1 -> prefix(FrameCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES); // a prefix, no body yet
        case 2 -> concat(prefix(FrameCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES), new byte[1000]);
        default -> concat(prefix(16 << 20), new byte[] {(byte) 0x86}); // 16 MiB, 1 byte
      };
      writeQuietly(s, start);
    }
    for (Socket s : sockets) {
      writeQuietly(s, new byte[] {0}); // and the trickle goes on
    }

    // A real client gets in and is answered while all that is connected.
    PeerConnection legit = connect(address);
    assertEcho(legit, "ping");

    List<String> newThreads = Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive).filter(t -> !before.contains(t)).map(Thread::getName).toList();
    // The listener: one loop and a timer; the client: a reader, a writer and a timer.
    assertTrue(newThreads.size() <= 8, "threads started during the flood: " + newThreads);
    assertTrue(server.unauthenticatedCount() <= TcpTransport.DEFAULT_MAX_UNAUTHENTICATED,
        server.unauthenticatedCount() + " unauthenticated connections held");
    long grown = usedHeapAfterGc() - heapBefore;
    // 256 held at ≤ 8 KiB of body each, plus their buffers and bookkeeping: a few MiB. Allocating
    // from the prefix would be 250 x 16 MiB and 500 x 64 KiB.
    assertTrue(grown < (32 << 20), "heap in use grew by " + grown + " bytes");
    assertEcho(legit, "still here");
  }

  @Test
  void manyAuthenticatedConnections_takeNoThreadEach_andAreAllServed() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder());
    connect(address); // the client's own threads and the listener's loop exist from here on
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    List<RawPeer> peers = new ArrayList<>();
    try {
      for (int i = 0; i < 300; i++) {
        RawPeer raw = new RawPeer(address);
        peers.add(raw);
        assertTrue(raw.handshake(SECRET, "w-" + i).accepted());
      }
      for (RawPeer raw : peers) {
        raw.send(new StateGet("k"));
      }
      for (RawPeer raw : peers) {
        assertArrayEquals("k".getBytes(UTF_8), ((StateResponse) raw.read().payload()).value());
      }
      List<String> started = Thread.getAllStackTraces().keySet().stream()
          .filter(Thread::isAlive).filter(t -> !before.contains(t)).map(Thread::getName)
          .filter(n -> n.startsWith("buildnet-")).toList();
      assertEquals(List.of(), started, "threads started for 300 connections");
    } finally {
      for (RawPeer raw : peers) {
        raw.close();
      }
    }
  }

  @Test
  void aFrameOverThePreHandshakeLimit_isRefusedBeforeAnyOfItIsRead() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder());
    Socket s = open(address);
    s.getOutputStream().write(prefix(FrameCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES + 1));
    ErrorReply e = assertRefused(s, ErrorCode.FRAME_TOO_LARGE);
    assertTrue(e.message().contains("65536"), e.message());
  }

  @Test
  void afterTheHandshake_framesUpToTheFullLimitAreAccepted() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder());
    PeerConnection c = connect(address);
    byte[] big = new byte[1 << 20]; // 16 x the pre-handshake limit
    Message reply = c.request(new StateSet("k", big, null, null, null), T).get(30, TimeUnit.SECONDS);
    assertEquals("1048576", new String(((StateResponse) reply.payload()).value(), UTF_8));
  }

  @Test
  void tooManyUnauthenticatedFromOneAddress_theNextIsRefusedWithBusy() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder().maxUnauthenticatedPerAddress(2));
    open(address);
    open(address);
    await(() -> server.unauthenticatedCount() == 2, "two unauthenticated connections");
    ErrorReply e = assertRefused(open(address), ErrorCode.BUSY);
    assertTrue(e.message().contains("unauthenticated connections from 127.0.0.1"), e.message());
  }

  @Test
  void tooManyConnectionsFromOneAddress_theNextIsRefusedWithBusy() throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder().maxConnectionsPerAddress(2));
    PeerConnection first = connect(address);
    open(address);
    await(() -> server.unauthenticatedCount() == 1, "one unauthenticated connection");
    ErrorReply e = assertRefused(open(address), ErrorCode.BUSY);
    assertTrue(e.message().contains("too many connections from 127.0.0.1"), e.message());
    assertEcho(first, "unaffected");
  }

  @Test
  void unauthenticatedAtTheirCap_theOldestMakesRoomAndAnAuthenticatingPeerGetsIn()
      throws Exception {
    InetSocketAddress address = listen(TcpTransport.builder().maxUnauthenticated(2));
    Socket oldest = open(address);
    await(() -> server.unauthenticatedCount() == 1, "one unauthenticated connection");
    open(address);
    await(() -> server.unauthenticatedCount() == 2, "two unauthenticated connections");
    PeerConnection legit = connect(address);
    ErrorReply e = assertRefused(oldest, ErrorCode.BUSY);
    assertTrue(e.message().contains("oldest unauthenticated"), e.message());
    assertEcho(legit, "in");
  }

  @Test
  void aPrefixDeclaring16MiB_allocatesOnlyAsTheBytesArrive() throws Exception {
    byte[] stream = concat(prefix(16 << 20), new byte[100]);
    FrameReader reader = new FrameReader(new ByteArrayInputStream(stream), FrameCodec.withDefaults());
    long allocated = allocatedByThisThread(() -> {
      try {
        reader.next();
        throw new AssertionError("a truncated frame was returned");
      } catch (EOFException expected) {
        // truncated: the 100 bytes were all there was
      }
    });
    assertTrue(allocated < (1 << 20), "allocated " + allocated + " bytes for 104 received");

    FrameAssembler assembler = new FrameAssembler(16 << 20);
    long assembling = allocatedByThisThread(() -> assertNull(assembler.next(ByteBuffer.wrap(stream))));
    assertTrue(assembling < (1 << 20), "allocated " + assembling + " bytes for 104 received");
  }

  @Test
  void aFrameAssembledByteByByte_isTheFrameSent() throws Exception {
    byte[] body = new byte[100_000];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31);
    }
    FrameAssembler assembler = new FrameAssembler(1 << 20);
    byte[] stream = concat(prefix(body.length), body);
    byte[] got = null;
    for (int i = 0; i < stream.length; i++) {
      byte[] done = assembler.next(ByteBuffer.wrap(stream, i, 1));
      if (done != null) {
        assertEquals(stream.length - 1, i, "completed early");
        got = done;
      }
    }
    assertArrayEquals(body, got);
  }

  interface IoRunnable {
    void run() throws IOException;
  }

  static long allocatedByThisThread(IoRunnable r) throws IOException {
    ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    long start = mx.getThreadAllocatedBytes(id);
    r.run();
    return mx.getThreadAllocatedBytes(id) - start;
  }

  static long usedHeapAfterGc() {
    Runtime rt = Runtime.getRuntime();
    System.gc(); // a full collection under the default collector
    System.gc();
    return rt.totalMemory() - rt.freeMemory();
  }

  static void writeQuietly(Socket s, byte[] bytes) {
    try {
      OutputStream out = s.getOutputStream();
      out.write(bytes);
      out.flush();
    } catch (IOException e) {
      // refused or evicted by the listener: also what the caps are for
    }
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
