package dev.buildnet.internal.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.internal.cache.ActionManifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kept-outputs records of docs/deferred-record-vectors.json, which the Python master's tests
 * read too: the Java master ({@link DeferredRecord}) writes exactly the canonical bytes, reads every readable form back to
 * the same worker and manifest, and drops every invalid one (as the Python master does).
 */
class DeferredRecordVectorsTest {
  private static final Path FILE = Path.of("..", "docs", "deferred-record-vectors.json");
  private static final ObjectMapper PLAIN = new ObjectMapper();

  private static JsonNode vectors(String group) throws IOException {
    return PLAIN.readTree(FILE.toFile()).get(group);
  }

  private static Stream<Arguments> cases(String group) throws IOException {
    return java.util.stream.StreamSupport.stream(vectors(group).spliterator(), false)
        .map(v -> Arguments.of(v.get("name").asText(), v));
  }

  static Stream<Arguments> valid() throws IOException {
    return cases("valid");
  }

  static Stream<Arguments> readable() throws IOException {
    return Stream.concat(cases("valid"), cases("readable"));
  }

  static Stream<Arguments> invalid() throws IOException {
    return cases("invalid");
  }

  private static byte[] bytes(JsonNode v) {
    return v.has("record_hex") ? HexFormat.of().parseHex(v.get("record_hex").asText())
        : v.get("record").asText().getBytes(StandardCharsets.UTF_8);
  }

  private static ActionManifest manifest(JsonNode v) throws IOException {
    return PLAIN.treeToValue(v.get("manifest"), ActionManifest.class);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("valid")
  void writesExactlyTheCanonicalRecord(String name, JsonNode v) throws IOException {
    byte[] written = DeferredRecord.encode(v.get("worker").asText(), manifest(v));
    assertArrayEquals(bytes(v), written, () -> new String(written, StandardCharsets.UTF_8));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("readable")
  void readsTheWorkerAndManifestBack(String name, JsonNode v) throws IOException {
    DeferredOutputs.Kept k = DeferredRecord.decode(bytes(v));
    assertEquals(v.get("worker").asText(), k.workerId);
    assertEquals(manifest(v), k.manifest);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void dropsWhatThePythonMasterDrops(String name, JsonNode v) {
    IOException e = assertThrows(IOException.class, () -> DeferredRecord.decode(bytes(v)));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage()); // one line for the log
  }
}
