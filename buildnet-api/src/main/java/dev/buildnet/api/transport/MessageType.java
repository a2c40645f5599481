package dev.buildnet.api.transport;

import java.util.Optional;

/**
 * The protocol's message types and their wire codes. {@code docs/PROTOCOL.md} specifies each
 * payload; this enum is the single source of the codes on the JVM side.
 *
 * @since 0.1
 */
public enum MessageType {
  HELLO(0x01),
  HELLO_ACK(0x02),
  HEARTBEAT(0x10),
  HEARTBEAT_ACK(0x11),
  BUILD_REQUEST(0x20),
  BUILD_STARTED(0x21),
  BUILD_PROGRESS(0x22),
  BUILD_COMPLETED(0x23),
  BUILD_FAILED(0x24),
  STATE_GET(0x30),
  STATE_SET(0x31),
  STATE_DELETE(0x32),
  STATE_RESPONSE(0x33),
  LOCK_ACQUIRE(0x40),
  LOCK_RELEASE(0x41),
  LOCK_RESPONSE(0x42),
  RESOURCE_CLAIM(0x50),
  RESOURCE_RELEASE(0x51),
  RESOURCE_STATUS(0x52);

  private static final MessageType[] BY_CODE = new MessageType[256];

  static {
    for (MessageType t : values()) {
      BY_CODE[t.code] = t;
    }
  }

  private final int code;

  MessageType(int code) {
    this.code = code;
  }

  /** The one-byte code on the wire. */
  public int code() {
    return code;
  }

  /** The type with {@code code}, or empty for a code this version does not know. */
  public static Optional<MessageType> fromCode(int code) {
    return code >= 0 && code < BY_CODE.length ? Optional.ofNullable(BY_CODE[code]) : Optional.empty();
  }
}
