package dev.buildnet.api.transport;

/**
 * The type-specific body of a {@link Message}. Each {@link MessageType} has exactly one payload
 * type; the implementations (one immutable record per type, package {@code dev.buildnet.internal.protocol}
 * in {@code buildnet-impl}) define the fields that {@code docs/PROTOCOL.md} specifies.
 *
 * <p>Implementations are immutable and safe to share between threads.
 *
 * @since 0.1
 */
public interface Payload {
  /** The message type this payload belongs to. */
  MessageType type();
}
