package dev.buildnet.internal.transport;

import java.nio.file.Path;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * What tests in other packages (the master's) may look at inside a {@link TcpTransport}: a
 * connection's inbound backlog and whether it is read, its outbox, and the idle sweep's progress.
 */
public final class InboundProbe {
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

  public static SSLContext selfSignedTls(Path store) throws Exception {
    return SelfSignedTls.context(store);
  }
}
