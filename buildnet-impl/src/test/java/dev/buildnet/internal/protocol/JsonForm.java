package dev.buildnet.internal.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON meaning of a message in docs/protocol-vectors.json: fields by wire name, bin as
 * {"$bin": "hex"}. Derived from the same schema as the codec, in both directions.
 */
final class JsonForm {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final HexFormat HEX = HexFormat.of();

  private JsonForm() {}

  static ObjectNode toJson(Message m) {
    ObjectNode o = F.objectNode();
    o.put("version", m.version());
    o.put("type", m.type().name());
    o.put("type_code", m.type().code());
    o.put("id", m.id());
    o.put("timestamp", m.timestamp());
    o.put("runtime", m.runtime());
    o.set("payload", record(Schema.of(m.type()), m.payload()));
    return o;
  }

  static Message fromJson(JsonNode o) {
    MessageType type = MessageType.valueOf(o.get("type").asText());
    return new Message(
        o.get("version").asInt(),
        type,
        o.get("id").asText(),
        o.get("timestamp").asLong(),
        o.get("runtime").asText(),
        (dev.buildnet.api.transport.Payload) record(Schema.of(type), o.get("payload")));
  }

  private static ObjectNode record(Schema schema, Object r) {
    ObjectNode o = F.objectNode();
    for (Schema.Field f : schema.fields) {
      Object v = schema.get(f, r);
      if (v == null) {
        continue;
      }
      switch (f.kind()) {
        case STR -> o.put(f.name(), (String) v);
        case INT -> o.put(f.name(), (Long) v);
        case BOOL -> o.put(f.name(), (Boolean) v);
        case BIN -> o.set(f.name(), F.objectNode().put("$bin", HEX.formatHex((byte[]) v)));
        case STR_ARRAY -> {
          ArrayNode a = o.putArray(f.name());
          ((List<?>) v).forEach(s -> a.add((String) s));
        }
        case STR_MAP -> {
          ObjectNode m = o.putObject(f.name());
          new java.util.TreeMap<>((Map<?, ?>) v).forEach((k, x) -> m.put((String) k, (String) x));
        }
        case RECORD_ARRAY -> {
          ArrayNode a = o.putArray(f.name());
          ((List<?>) v).forEach(x -> a.add(record(f.element(), x)));
        }
      }
    }
    return o;
  }

  private static Object record(Schema schema, JsonNode o) {
    Object[] values = new Object[schema.fields.size()];
    for (int i = 0; i < values.length; i++) {
      Schema.Field f = schema.fields.get(i);
      JsonNode v = o.get(f.name());
      if (v == null || v.isNull()) {
        continue;
      }
      values[i] =
          switch (f.kind()) {
            case STR -> v.asText();
            case INT -> v.asLong();
            case BOOL -> v.asBoolean();
            case BIN -> HEX.parseHex(v.get("$bin").asText());
            case STR_ARRAY -> {
              List<String> l = new ArrayList<>();
              v.forEach(x -> l.add(x.asText()));
              yield l;
            }
            case STR_MAP -> {
              Map<String, String> m = new LinkedHashMap<>();
              for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), e.getValue().asText());
              }
              yield m;
            }
            case RECORD_ARRAY -> {
              List<Object> l = new ArrayList<>();
              v.forEach(x -> l.add(record(f.element(), x)));
              yield l;
            }
          };
    }
    return schema.construct(values);
  }

  /** Field-by-field equality, comparing byte[] by content. */
  static boolean deepEquals(Message a, Message b) {
    return a.version() == b.version()
        && a.type() == b.type()
        && a.id().equals(b.id())
        && a.timestamp() == b.timestamp()
        && a.runtime().equals(b.runtime())
        && toJson(a).toString().equals(toJson(b).toString());
  }
}
