/**
 * The session layer and the TCP transport. {@link dev.buildnet.internal.transport.Session} is what
 * the master, worker and client talk through: the shared-secret handshake, heartbeats and reply
 * matching, over the built-in TCP transport ({@code TcpTransport}, which runs them inside itself)
 * or above a host's {@link dev.buildnet.api.transport.Transport} ({@code FramedTransport}). The TCP
 * transport: one NIO selector loop for plain and TLS connections, frame assembly with
 * pre-authentication bounds, per-connection back-pressure.
 */
package dev.buildnet.internal.transport;
