package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import java.util.ArrayList;
import java.util.List;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Every message type survives encode then decode, for random payloads within the rules. */
class CodecPropertiesTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  @Property(tries = 1500)
  void encodeThenDecode_givesTheSameMessageAndBytes(@ForAll("messages") Message m) {
    byte[] frame = codec.encode(m);
    Message back = codec.decode(frame);
    assertTrue(JsonForm.deepEquals(m, back), () -> m + " came back as " + back);
    assertArrayEquals(frame, codec.encode(back));
  }

  @Property(tries = 300)
  void everyPrefixOfAFrame_isRejectedAsTruncated(@ForAll("messages") Message m) {
    byte[] frame = codec.encode(m);
    for (int cut : new int[] {0, 3, frame.length / 2, frame.length - 1}) {
      byte[] part = java.util.Arrays.copyOf(frame, cut);
      try {
        codec.decode(part);
        throw new AssertionError("a " + cut + "-byte prefix decoded");
      } catch (ProtocolException expected) {
        assertTrue(expected.code() == ErrorCode.BAD_FRAME, expected.getMessage());
      }
    }
  }

  @Provide
  Arbitrary<Message> messages() {
    Arbitrary<Payload> payloads =
        Arbitraries.of(MessageType.values()).flatMap(t -> record(Schema.of(t)).map(p -> (Payload) p));
    return Combinators.combine(
            payloads,
            Arbitraries.strings().ofMinLength(1).ofMaxLength(20),
            Arbitraries.longs(),
            Arbitraries.of("jvm", "python", "bun"))
        .as((p, id, ts, rt) -> new Message(1, p.type(), id, ts, rt, p));
  }

  /** Values for each field by name and kind; combinations the record rejects are filtered out. */
  private Arbitrary<Object> record(Schema schema) {
    List<Arbitrary<Object>> fields = new ArrayList<>();
    for (Schema.Field f : schema.fields) {
      Arbitrary<Object> v = value(f);
      fields.add(f.required() ? v : v.injectNull(0.3));
    }
    return Combinators.combine(fields)
        .as(values -> {
          try {
            return schema.construct(values.toArray());
          } catch (IllegalArgumentException e) {
            return null;
          }
        })
        .filter(r -> r != null);
  }

  @SuppressWarnings("unchecked")
  private Arbitrary<Object> value(Schema.Field f) {
    Arbitrary<String> text = Arbitraries.strings().ofMinLength(1).ofMaxLength(30);
    Arbitrary<?> a =
        switch (f.name()) {
          case "role" -> Arbitraries.of("worker", "client");
          case "kind" -> Arbitraries.of("build_started", "build_finished", "target_started", "target_finished", "log");
          case "stream" -> Arbitraries.of("stdout", "stderr");
          case "nonce", "proof" -> Arbitraries.bytes().array(byte[].class).ofSize(32);
          case "attempt", "seq", "lease_ms", "cpu_slots", "memory_mb", "heartbeat_ms", "ttl_ms",
              "timeout_ms" -> Arbitraries.longs().between(1, Long.MAX_VALUE);
          case "max_chunk" -> Arbitraries.longs().between(1, Payloads.MAX_CHUNK_BYTES);
          case "size", "offset", "completed", "total", "duration_ms", "code", "minor" ->
              Arbitraries.longs().between(0, 1 << 20);
          default ->
              switch (f.kind()) {
                case STR -> text;
                case INT -> Arbitraries.longs().between(0, Long.MAX_VALUE);
                case BOOL -> Arbitraries.of(true, false);
                case BIN -> Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
                case STR_ARRAY -> text.list().ofMinSize(1).ofMaxSize(4);
                case STR_MAP -> Arbitraries.maps(text, Arbitraries.strings().ofMaxLength(10)).ofMaxSize(4);
                case RECORD_ARRAY -> record(f.element()).list().ofMaxSize(3);
              };
        };
    return (Arbitrary<Object>) a;
  }

}
