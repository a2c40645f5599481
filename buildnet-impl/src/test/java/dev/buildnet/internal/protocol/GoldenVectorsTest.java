package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** docs/protocol-vectors.json is the byte-exact contract every implementation checks itself against. */
class GoldenVectorsTest {
  private static final Path FILE = Path.of("..", "docs", "protocol-vectors.json");
  private static final HexFormat HEX = HexFormat.of();
  private final FrameCodec codec = FrameCodec.withDefaults();

  private static JsonNode vectors() throws Exception {
    return new ObjectMapper().readTree(FILE.toFile());
  }

  @Test
  void everyVectorDecodesToItsMeaning() throws Exception {
    for (JsonNode v : vectors().get("vectors")) {
      Message m = codec.decode(HEX.parseHex(v.get("hex").asText()));
      assertEquals(v.get("message").toString(), JsonForm.toJson(m).toString(), v.get("name").asText());
    }
  }

  @Test
  void everyVectorsMeaningEncodesToItsExactBytes() throws Exception {
    for (JsonNode v : vectors().get("vectors")) {
      byte[] encoded = codec.encode(JsonForm.fromJson(v.get("message")));
      assertEquals(v.get("hex").asText(), HEX.formatHex(encoded), v.get("name").asText());
    }
  }

  @Test
  void vectorsCoverEveryMessageType() throws Exception {
    Set<MessageType> seen = EnumSet.noneOf(MessageType.class);
    for (JsonNode v : vectors().get("vectors")) {
      seen.add(MessageType.valueOf(v.get("message").get("type").asText()));
    }
    assertEquals(EnumSet.allOf(MessageType.class), seen);
  }

  @Test
  void everyErrorVectorIsRejectedWithItsCode() throws Exception {
    for (JsonNode v : vectors().get("errors")) {
      String name = v.get("name").asText();
      JsonNode expected = v.get("error");
      ProtocolException e =
          assertThrows(
              ProtocolException.class, () -> codec.decode(HEX.parseHex(v.get("hex").asText())), name);
      assertEquals(expected.get("code").asText(), e.code().name(), name + ": " + e.getMessage());
      assertEquals(expected.get("code_number").asInt(), e.code().code(), name);
      assertEquals(expected.get("fatal").asBoolean(), e.fatal(), name);
      JsonNode id = expected.get("message_id");
      assertEquals(id.isNull() ? null : id.asText(), e.messageId(), name);
    }
  }

  @Test
  void everyDigestInTheFileIsRecomputedFromItsContent() throws Exception {
    JsonNode root = vectors();
    java.util.Map<String, Integer> sizes = new java.util.HashMap<>();
    for (JsonNode d : root.get("digests")) {
      byte[] content = HEX.parseHex(d.get("content_hex").asText());
      String name = d.get("name").asText();
      assertEquals(dev.buildnet.api.hash.HashProvider.xxh64().hash(content).toString(),
          d.get("xxh64").asText(), name);
      assertEquals(dev.buildnet.api.hash.HashProvider.sha256().hash(content).toString(),
          d.get("sha256").asText(), name);
      sizes.put(d.get("xxh64").asText(), content.length);
      sizes.put(d.get("sha256").asText(), content.length);
    }
    // The digest text of docs/PROTOCOL.md ("Digests"): XXH64 seed 0, 8 bytes big-endian, 16
    // lower-case hex digits; bytes 01..06 are the blob vectors' content.
    assertEquals("xxh64:7b03496045e8d09c",
        dev.buildnet.api.hash.HashProvider.xxh64().hash(new byte[] {1, 2, 3, 4, 5, 6}).toString());
    java.util.List<String> seen = new java.util.ArrayList<>();
    java.util.regex.Pattern digest = java.util.regex.Pattern.compile("(xxh64|sha256):.*");
    java.util.ArrayDeque<JsonNode> todo = new java.util.ArrayDeque<>();
    todo.add(root.get("vectors"));
    while (!todo.isEmpty()) {
      JsonNode n = todo.pop();
      if (n.isTextual() && digest.matcher(n.asText()).matches()) {
        seen.add(n.asText());
        assertTrue(sizes.containsKey(n.asText()), n.asText() + " is not the digest of any content in the file");
      }
      if (n.isObject() && n.has("digest") && n.has("size")) {
        assertEquals(sizes.get(n.get("digest").asText()).longValue(), n.get("size").asLong(), n.toString());
      }
      n.forEach(todo::add);
    }
    assertTrue(seen.size() >= 10, "the vectors name digests: " + seen);
  }

  @Test
  void authVectorProofsMatch() throws Exception {
    JsonNode a = vectors().get("auth");
    byte[] secret = HEX.parseHex(a.get("secret_hex").asText());
    byte[] client = HEX.parseHex(a.get("client_nonce_hex").asText());
    byte[] server = HEX.parseHex(a.get("server_nonce_hex").asText());
    assertArrayEquals(
        HEX.parseHex(a.get("client_proof_hex").asText()),
        Auth.clientProof(secret, server, client, a.get("role").asText(), a.get("peer_id").asText()));
    assertArrayEquals(
        HEX.parseHex(a.get("server_proof_hex").asText()),
        Auth.serverProof(secret, client, server, a.get("listener_id").asText()));
  }

  @Test
  void theCommittedFileIsWhatTheGeneratorWrites() throws Exception {
    // A protocol change must regenerate the file deliberately (see VectorsGenerator).
    assertEquals(VectorsGenerator.render(), Files.readString(FILE));
  }

  @Test
  void protocolDocumentListsEveryFieldOfEveryPayloadInOrder() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "PROTOCOL.md"));
    for (MessageType t : MessageType.values()) {
      String header = String.format("#### %s (0x%02X)", t.name(), t.code());
      int at = doc.indexOf(header);
      assertTrue(at >= 0, "PROTOCOL.md lacks " + header);
      int i = 1;
      for (Schema.Field f : Schema.of(t).fields) {
        String row =
            String.format("| %d | `%s` | %s | %s |", i++, f.name(), f.kind().wire, f.required() ? "yes" : "no");
        assertTrue(doc.indexOf(row, at) > at, t + ": PROTOCOL.md lacks the row " + row);
      }
    }
  }

  @Test
  void aHandWrittenHeartbeatFrameDecodes() {
    // Independent of the encoder: 4-byte length, fixmap of 6, keys as fixstr, payload {}.
    String body =
        "86" + "a776657273696f6e" + "01" + "a474797065" + "10" + "a26964" + "a3772d31"
            + "a974696d657374616d70" + "00" + "a772756e74696d65" + "a3707974" + "a77061796c6f6164"
            + "80";
    byte[] frame = HEX.parseHex(String.format("%08x", body.length() / 2) + body);
    Message m = codec.decode(frame);
    assertEquals(MessageType.HEARTBEAT, m.type());
    assertEquals("w-1", m.id());
    assertEquals("pyt", m.runtime());
    assertTrue(m.payload() instanceof Payloads.Heartbeat h && h.running() == null);
    assertArrayEquals(frame, codec.encode(m));
  }
}
