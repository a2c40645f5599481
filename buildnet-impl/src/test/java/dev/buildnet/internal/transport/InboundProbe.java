package dev.buildnet.internal.transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * What tests in other packages (the master's) may look at inside a {@link TcpTransport}: a
 * connection's inbound backlog and whether it is read, its outbox, and the idle sweep's progress;
 * and inside a {@link FramedTransport} (over a host's transport): a session's inbound backlog and
 * whether its delivery thread is blocked for it.
 */
public final class InboundProbe {
  private static final Duration AWAIT = Duration.ofSeconds(120);

  private InboundProbe() {}

  /** The open connection of {@code transport} (a {@link TcpTransport}) to {@code peerId}. */
  public static Optional<PeerConnection> connectionTo(Object transport, String peerId) {
    return ((TcpTransport) transport).openConnections().stream()
        .filter(c -> peerId.equals(c.peerId()))
        .findFirst();
  }

  public static long inboundBytes(PeerConnection c) {
    return c.inboundBytes();
  }

  public static boolean readPaused(PeerConnection c) {
    return c.readPaused();
  }

  /** Bytes {@code c} has queued to send and not yet written. */
  public static long outboxBytes(PeerConnection c) {
    return c.queuedBytes();
  }

  /** When the loop of {@code transport} last swept its connections' deadlines; 0 before then. */
  public static long lastSweepNanos(Object transport) {
    return ((TcpTransport) transport).lastSweepNanos();
  }

  /** The open session of {@code transport} (a {@link FramedTransport}) to {@code peerId}. */
  public static Optional<Session> sessionTo(Object transport, String peerId) {
    return ((FramedTransport) transport).openSessions().stream()
        .filter(s -> peerId.equals(s.peerId()))
        .map(Session.class::cast)
        .findFirst();
  }

  /** Bytes of messages a {@link FramedSession}'s handler holds and has not yet handled. */
  public static long heldBytes(Session s) {
    return ((FramedSession) s).heldBytes();
  }

  /** Whether a {@link FramedSession}'s delivery thread is blocked for its inbound backlog. */
  public static boolean deliveryBlocked(Session s) {
    return ((FramedSession) s).blockedThread() != null;
  }

  /** Waits for {@code condition}, polling; fails after 120 s (a bound for a hang, not a measure). */
  public static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long until = System.nanoTime() + AWAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("not within " + AWAIT + ": " + what);
      }
      Thread.sleep(2);
    }
  }

  /** Waits for {@code value} to give non-null, and returns it; as {@link #await}. */
  public static <V> V awaitValue(Supplier<V> value, String what) throws InterruptedException {
    Object[] got = new Object[1];
    await(() -> (got[0] = value.get()) != null, what);
    @SuppressWarnings("unchecked")
    V v = (V) got[0];
    return v;
  }

  public static SSLContext selfSignedTls(Path store) throws Exception {
    return SelfSignedTls.context(store);
  }
}
