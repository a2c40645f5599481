package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Random protocol messages for property tests, generated from the {@link Schema}: every message
 * type, every field kind, optional fields sometimes absent. Public so that the tests of the public
 * {@code MessageCodec} draw from the same messages as the internal codec's.
 */
public final class MessageArbitraries {
  private MessageArbitraries() {}

  /** Whether two messages are equal field by field, byte arrays by content. */
  public static boolean sameMessage(Message a, Message b) {
    return JsonForm.deepEquals(a, b);
  }

  /** Messages of every type with random envelopes and payloads that their records accept. */
  public static Arbitrary<Message> messages() {
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
  private static Arbitrary<Object> record(Schema schema) {
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
  private static Arbitrary<Object> value(Schema.Field f) {
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
