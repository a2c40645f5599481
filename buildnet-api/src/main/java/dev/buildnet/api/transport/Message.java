package dev.buildnet.api.transport;

import java.util.Map;
import java.util.Objects;

/**
 * One protocol message: the envelope {@code {version, type, id, timestamp, runtime, payload}}.
 *
 * @param version protocol version of the sender
 * @param type what the message is
 * @param id unique per sender; replies name the request's id in their payload
 * @param timestamp sender's wall clock, epoch milliseconds (informational only: never used to
 *     measure timeouts)
 * @param runtime the sender's runtime, e.g. {@code "jvm"}, {@code "python"}
 * @param payload the type-specific fields, as decoded MessagePack values (String, Long, Double,
 *     Boolean, byte[], List, Map, or null)
 * @since 0.1
 */
public record Message(
    int version, MessageType type, String id, long timestamp, String runtime,
    Map<String, Object> payload) {
  public Message {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(runtime, "runtime");
    Objects.requireNonNull(payload, "payload");
  }
}
