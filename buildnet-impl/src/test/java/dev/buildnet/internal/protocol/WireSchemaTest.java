package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.api.transport.MessageType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * docs/protocol/schema.json is the one wire schema: Payloads.java is generated from it (by
 * python/tools/gen_wire_schema.py, whose staleness the Python suite checks), and the decoder reads
 * untrusted bytes by {@link Schema}, derived from those records. This checks that what the
 * decoder and encoder use is what the schema says, field for field, and that every limit the
 * schema declares is refused.
 */
class WireSchemaTest {
  private static final Path FILE = Path.of("..", "docs", "protocol", "schema.json");
  private static final Path VECTORS = Path.of("..", "docs", "protocol-vectors.json");

  private static JsonNode schema() throws Exception {
    return new ObjectMapper().readTree(FILE.toFile());
  }

  private static Map<String, JsonNode> records(JsonNode schema) {
    Map<String, JsonNode> out = new HashMap<>();
    schema.get("records").forEach(r -> out.put(r.get("name").asText(), r));
    return out;
  }

  private static String elementRecord(String type) {
    return type.startsWith("array of ") && !type.equals("array of str") ? type.substring(9) : null;
  }

  @Test
  void messageTypesAndCodesAreTheSchemas() throws Exception {
    Map<String, Integer> inSchema = new HashMap<>();
    schema().get("messages").forEach(m -> inSchema.put(m.get("type").asText(), m.get("code").asInt()));
    Map<String, Integer> inCode = new HashMap<>();
    for (MessageType t : MessageType.values()) {
      inCode.put(t.name(), t.code());
    }
    assertEquals(inSchema, inCode);
  }

  @Test
  void constantsAreTheSchemas() throws Exception {
    for (JsonNode c : schema().get("constants")) {
      String name = c.get("name").asText();
      assertEquals(c.get("value").asLong(), Payloads.class.getField(name).getLong(null), name);
    }
  }

  @Test
  void theDecodersFieldTablesAreTheSchemas() throws Exception {
    JsonNode schema = schema();
    Map<String, JsonNode> records = records(schema);
    for (JsonNode m : schema.get("messages")) {
      MessageType t = MessageType.valueOf(m.get("type").asText());
      Schema s = Schema.of(t);
      assertEquals(m.get("java_class").asText(), s.type.getSimpleName(), t.name());
      agrees(s, m.get("fields"), records, t.name());
    }
  }

  private static void agrees(Schema s, JsonNode fields, Map<String, JsonNode> records, String label) {
    assertEquals(fields.size(), s.fields.size(), label + ": number of fields");
    for (int i = 0; i < fields.size(); i++) {
      JsonNode f = fields.get(i);
      Schema.Field actual = s.fields.get(i);
      String what = label + "." + f.get("name").asText();
      assertEquals(f.get("name").asText(), actual.name(), what);
      String type = f.get("type").asText();
      String element = elementRecord(type);
      assertEquals(element != null ? "array of map" : type, actual.kind().wire, what);
      assertEquals(f.get("required").asBoolean(), actual.required(), what);
      if (element != null) {
        assertNotNull(actual.element(), what);
        assertEquals(element, actual.element().type.getSimpleName(), what);
        agrees(actual.element(), records.get(element).get("fields"), records, what + "[]");
      }
    }
  }

  @Test
  void aPayloadBreakingADeclaredLimitIsRefused() throws Exception {
    JsonNode schema = schema();
    Map<String, Long> constants = new HashMap<>();
    schema.get("constants").forEach(c -> constants.put(c.get("name").asText(), c.get("value").asLong()));
    Set<String> covered = new HashSet<>();
    for (JsonNode v : new ObjectMapper().readTree(VECTORS.toFile()).get("vectors")) {
      var message = JsonForm.fromJson(v.get("message"));
      Schema s = Schema.of(message.type());
      JsonNode spec = null;
      for (JsonNode m : schema.get("messages")) {
        if (m.get("type").asText().equals(message.type().name())) {
          spec = m;
        }
      }
      assertNotNull(spec, message.type().name());
      for (JsonNode f : spec.get("fields")) {
        String name = f.get("name").asText();
        List<Object> bad = violations(f, constants);
        if (bad.isEmpty()) {
          continue;
        }
        covered.add(message.type() + "." + name);
        int index = s.indexOf(name);
        for (Object value : bad) {
          Object[] values = new Object[s.fields.size()];
          for (int i = 0; i < values.length; i++) {
            values[i] = s.get(s.fields.get(i), message.payload());
          }
          values[index] = value;
          String what = v.get("name").asText() + ": " + name + " = " + value;
          IllegalArgumentException e =
              assertThrows(IllegalArgumentException.class, () -> s.construct(values), what);
          assertTrue(e.getMessage().startsWith(name + " must "), what + ": " + e.getMessage());
        }
      }
    }
    Set<String> declared = new HashSet<>();
    for (JsonNode m : schema.get("messages")) {
      for (JsonNode f : m.get("fields")) {
        if (!violations(f, constants).isEmpty()) {
          declared.add(m.get("type").asText() + "." + f.get("name").asText());
        }
      }
    }
    assertEquals(declared, covered, "every declared limit is tried on a golden vector");
  }

  /** Values that break one of the field's declared limits. */
  private static List<Object> violations(JsonNode f, Map<String, Long> constants) {
    List<Object> out = new ArrayList<>();
    if (f.path("non_empty").asBoolean(false)) {
      out.add(f.get("type").asText().equals("str") ? "" : List.of());
    }
    if (f.has("enum")) {
      out.add("no-such-value");
    }
    if (f.has("min")) {
      out.add(f.get("min").asLong() - 1);
    }
    if (f.has("max")) {
      out.add(value(f.get("max"), constants) + 1);
    }
    if (f.has("length")) {
      out.add(new byte[(int) value(f.get("length"), constants) + 1]);
    }
    if (f.has("max_length")) {
      out.add(new byte[(int) value(f.get("max_length"), constants) + 1]);
    }
    return out;
  }

  private static long value(JsonNode v, Map<String, Long> constants) {
    return v.isNumber() ? v.asLong() : constants.get(v.asText());
  }
}
