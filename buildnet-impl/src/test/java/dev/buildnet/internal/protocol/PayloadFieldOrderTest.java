package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;
import org.junit.jupiter.api.Test;

/**
 * The decoder matches a payload's keys to fields by name whatever their order (it guesses the
 * field after the last one matched, as senders write them in schema order), and rejects a field
 * sent twice, wherever it is in the schema: frames come from peers, not only from this encoder.
 */
class PayloadFieldOrderTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  /** A TARGET_RUN with optional fields both left out (between others) and present. */
  private final TargetRun run = new TargetRun("b-1", "lib", 2, List.of("node", "build.js"), "lib",
      Map.of("PATH", "/usr/bin"), List.of(new Output("lib/a.js", "xxh64:0011223344556677", 3, null)),
      List.of("lib/dist"), null, 4096L, null, null, null, null, true);

  /** The payload's entries as the encoder writes them, in schema order. */
  private List<Map.Entry<Value, Value>> entries() throws IOException {
    byte[] frame = codec.encode(new Message(1, MessageType.TARGET_RUN, "m-1", 0, "jvm", run));
    try (MessageUnpacker u = MessagePack.newDefaultUnpacker(frame, FrameCodec.PREFIX_BYTES,
        frame.length - FrameCodec.PREFIX_BYTES)) {
      Value payload = u.unpackValue().asMapValue().map().get(ValueFactory.newString("payload"));
      return new ArrayList<>(payload.asMapValue().map().entrySet());
    }
  }

  /** A TARGET_RUN frame whose payload map holds {@code entries} in this order, repeats kept. */
  private static byte[] frame(List<Map.Entry<Value, Value>> entries) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    try (MessagePacker p = MessagePack.newDefaultPacker(body)) {
      p.packMapHeader(6);
      p.packString("version").packInt(1);
      p.packString("type").packInt(MessageType.TARGET_RUN.code());
      p.packString("id").packString("m-1");
      p.packString("timestamp").packLong(0);
      p.packString("runtime").packString("jvm");
      p.packString("payload").packMapHeader(entries.size());
      for (Map.Entry<Value, Value> e : entries) {
        p.packValue(e.getKey());
        p.packValue(e.getValue());
      }
    }
    byte[] b = body.toByteArray();
    return ByteBuffer.allocate(FrameCodec.PREFIX_BYTES + b.length).putInt(b.length).put(b).array();
  }

  private String rejection(byte[] frame) {
    return assertThrows(ProtocolException.class, () -> codec.decode(frame)).getMessage();
  }

  @Test
  void fieldsInReverseOrderDecodeToTheSameRecord() throws Exception {
    List<Map.Entry<Value, Value>> entries = entries();
    Collections.reverse(entries);
    assertEquals(run, codec.decode(frame(entries)).payload());
  }

  @Test
  void fieldsRotatedSoNoneIsWhereTheEncoderPutsItDecodeToTheSameRecord() throws Exception {
    List<Map.Entry<Value, Value>> entries = entries();
    Collections.rotate(entries, 3);
    assertEquals(run, codec.decode(frame(entries)).payload());
  }

  @Test
  void everyFieldSentTwiceIsRejectedAsADuplicateWhereverItIs() throws Exception {
    List<Map.Entry<Value, Value>> entries = entries();
    for (int i = 0; i < entries.size(); i++) {
      List<Map.Entry<Value, Value>> twice = new ArrayList<>(entries);
      twice.add(entries.get(i)); // last, after every other field
      String field = entries.get(i).getKey().asStringValue().asString();
      assertEquals("TARGET_RUN payload: duplicate field '" + field + "'",
          rejection(frame(twice)), field);
      twice = new ArrayList<>(entries);
      twice.add(i + 1, entries.get(i)); // right after itself: where the next field is expected
      assertEquals("TARGET_RUN payload: duplicate field '" + field + "'",
          rejection(frame(twice)), field);
    }
  }

  @Test
  void aNilThenAValueForOneOptionalFieldIsADuplicate() throws Exception {
    List<Map.Entry<Value, Value>> entries = entries();
    Value timeout = ValueFactory.newString("timeout_ms");
    entries.add(0, Map.entry(timeout, ValueFactory.newNil()));
    entries.add(Map.entry(timeout, ValueFactory.newInteger(5)));
    assertEquals("TARGET_RUN payload: duplicate field 'timeout_ms'", rejection(frame(entries)));
  }

  @Test
  void anUnknownFieldBetweenKnownOnesIsSkipped() throws Exception {
    List<Map.Entry<Value, Value>> entries = entries();
    Map<Value, Value> newer = new LinkedHashMap<>();
    newer.put(ValueFactory.newString("from_a_newer_minor"), ValueFactory.newInteger(1));
    entries.add(3, newer.entrySet().iterator().next());
    assertEquals(run, codec.decode(frame(entries)).payload());
  }
}
