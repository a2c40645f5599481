/**
 * The TCP transport: one NIO selector loop for plain and TLS connections, frame assembly with
 * pre-authentication bounds, per-connection back-pressure.
 */
package dev.buildnet.internal.transport;
