/**
 * The wire protocol: payload records generated from docs/protocol/schema.json, the bounded
 * hand-written decoder, authentication, and the event mapping. See docs/PROTOCOL.md.
 */
package dev.buildnet.internal.protocol;
