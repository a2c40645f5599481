package dev.buildnet.internal.protocol;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;

/** Rewrites a frame the codec made, for tests that need one the codec would not make. */
final class FrameEdits {
  private FrameEdits() {}

  /**
   * {@code frame} with payload field {@code field} set to what {@code change} makes of its value
   * (null when the field is absent), re-framed with a matching length prefix.
   */
  static byte[] withPayloadField(byte[] frame, String field, UnaryOperator<Value> change)
      throws IOException {
    Value envelope;
    try (MessageUnpacker u = MessagePack.newDefaultUnpacker(frame, FrameCodec.PREFIX_BYTES,
        frame.length - FrameCodec.PREFIX_BYTES)) {
      envelope = u.unpackValue(); // our own bytes, in a test
    }
    Map<Value, Value> top = new LinkedHashMap<>(envelope.asMapValue().map());
    Value payloadKey = ValueFactory.newString("payload");
    Map<Value, Value> payload = new LinkedHashMap<>(top.get(payloadKey).asMapValue().map());
    Value key = ValueFactory.newString(field);
    payload.put(key, change.apply(payload.get(key)));
    top.put(payloadKey, ValueFactory.newMap(payload));
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    try (MessagePacker p = MessagePack.newDefaultPacker(body)) {
      p.packValue(ValueFactory.newMap(top));
    }
    byte[] b = body.toByteArray();
    return ByteBuffer.allocate(FrameCodec.PREFIX_BYTES + b.length).putInt(b.length).put(b).array();
  }
}
