package dev.buildnet.api.transport;

import java.util.Optional;

/**
 * The protocol's message types and their wire codes. {@code docs/PROTOCOL.md} specifies each
 * payload; this enum is the single source of the codes on the JVM side.
 *
 * @since 0.1
 */
public enum MessageType {
  // 0x00-0x0F: session (handshake, replies shared by every request)
  HELLO(0x01),
  HELLO_ACK(0x02),
  AUTH_CHALLENGE(0x03),
  AUTH_PROOF(0x04),
  ACK(0x0E),
  ERROR(0x0F),
  // 0x10-0x1F: liveness
  HEARTBEAT(0x10),
  HEARTBEAT_ACK(0x11),
  // 0x20-0x2F: builds and target attempts
  BUILD_REQUEST(0x20),
  BUILD_STARTED(0x21),
  BUILD_PROGRESS(0x22),
  BUILD_COMPLETED(0x23),
  BUILD_FAILED(0x24),
  BUILD_CANCEL(0x25),
  TARGET_CANCEL(0x26),
  TARGET_RUN(0x27),
  // 0x30-0x3F: shared state
  STATE_GET(0x30),
  STATE_SET(0x31),
  STATE_DELETE(0x32),
  STATE_RESPONSE(0x33),
  STATE_KEYS(0x34),
  STATE_INCREMENT(0x35),
  // 0x40-0x4F: locks
  LOCK_ACQUIRE(0x40),
  LOCK_RELEASE(0x41),
  LOCK_RESPONSE(0x42),
  LOCK_RENEW(0x43),
  // 0x50-0x5F: resources
  RESOURCE_CLAIM(0x50),
  RESOURCE_RELEASE(0x51),
  RESOURCE_STATUS(0x52),
  // 0x60-0x6F: content-addressed blobs
  BLOB_HAS(0x60),
  BLOB_HAS_RESPONSE(0x61),
  BLOB_PUT(0x62),
  BLOB_PUT_RESPONSE(0x63),
  BLOB_GET(0x64),
  BLOB_CHUNK(0x65),
  // 0x70-0x7F: event subscription
  SUBSCRIBE(0x70),
  UNSUBSCRIBE(0x71),
  EVENT(0x72);

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
