package dev.buildnet.protocol;

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
