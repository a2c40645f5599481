package dev.buildnet.api.transport;

import java.util.Objects;

/**
 * One protocol message: the envelope {@code {version, type, id, timestamp, runtime, payload}}.
 *
 * @param version protocol major version of the sender ({@code docs/PROTOCOL.md}, "Versioning")
 * @param type what the message is; always {@code payload.type()}
 * @param id unique per sender and connection; replies name the request's id in their payload's
 *     {@code reply_to}
 * @param timestamp sender's wall clock, epoch milliseconds (informational only: never used to
 *     measure timeouts)
 * @param runtime the sender's runtime, e.g. {@code "jvm"}, {@code "python"}
 * @param payload the typed, type-specific fields
 * @since 0.1
 */
public record Message(
    int version, MessageType type, String id, long timestamp, String runtime, Payload payload) {
  public Message {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(runtime, "runtime");
    Objects.requireNonNull(payload, "payload");
    if (payload.type() != type) {
      throw new IllegalArgumentException(
          "message type " + type + " does not match its payload's type " + payload.type());
    }
  }
}
