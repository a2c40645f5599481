package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Transport;

/**
 * A {@link Transport.Connection.Handler} that never blocks, so a {@link TcpTransport} listener may
 * run it on its selector thread, with no hand-off per message. Handlers that are not marked run on
 * a per-connection serial executor instead (in order, and a blocking one stalls only its own
 * connection, as {@link Transport} promises). An inline handler that has slow work to do must hand
 * it off itself, keeping its connection's order.
 *
 * @since 0.1
 */
public interface InlineHandler extends Transport.Connection.Handler {}
