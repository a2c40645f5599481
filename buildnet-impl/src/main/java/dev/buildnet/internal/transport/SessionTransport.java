package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Opens authenticated {@link Session}s for one role (master, worker or client): the built-in
 * {@link TcpTransport}, or a {@link FramedTransport} over a host's {@link Transport}. The
 * connections its acceptors and handlers see are {@link Session}s ({@link Session#of}).
 */
public interface SessionTransport extends AutoCloseable {

  /** Connects and authenticates; blocks up to {@code timeout} in all. */
  Session connect(InetSocketAddress address, Duration timeout, Transport.Connection.Handler handler)
      throws IOException;

  /** Accepts connections; the acceptor sees each only once it has authenticated. */
  Transport.Listener listen(InetSocketAddress address, Transport.Acceptor acceptor) throws IOException;

  /** Closes the listeners and sessions this opened; idempotent. */
  @Override
  void close();
}
