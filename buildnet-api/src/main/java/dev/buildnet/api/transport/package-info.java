/**
 * The transport seam: framed, authenticated connections ({@link
 * dev.buildnet.api.transport.Transport}), the one settings object they are built from ({@link
 * dev.buildnet.api.transport.TransportSettings}), message types and error codes.
 */
package dev.buildnet.api.transport;
