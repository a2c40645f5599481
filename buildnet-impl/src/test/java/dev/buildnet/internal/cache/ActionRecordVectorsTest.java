package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.internal.state.InMemoryStateBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The action records of docs/action-record-vectors.json, which the Python master's tests read too:
 * the Java master's {@link ActionCache} takes every valid one and drops every invalid one (the row
 * deleted, one log line), as the Python master does, so a state.db both use hits and misses alike.
 */
class ActionRecordVectorsTest {
  private static final Path FILE = Path.of("..", "docs", "action-record-vectors.json");
  private static final String KEY = "xxh64:00000000000000aa";

  @TempDir Path dir;

  private static Stream<Arguments> cases(String group) throws IOException {
    JsonNode all = new ObjectMapper().readTree(FILE.toFile()).get(group);
    return StreamSupport.stream(all.spliterator(), false)
        .map(v -> Arguments.of(v.get("name").asText(), v));
  }

  static Stream<Arguments> valid() throws IOException {
    return cases("valid");
  }

  static Stream<Arguments> invalid() throws IOException {
    return cases("invalid");
  }

  private static byte[] bytes(JsonNode v) {
    return v.has("record_hex") ? HexFormat.of().parseHex(v.get("record_hex").asText())
        : v.get("record").asText().getBytes(StandardCharsets.UTF_8);
  }

  private ActionCache cacheHolding(InMemoryStateBackend state, byte[] record) {
    state.set(ActionCache.PREFIX + KEY, record);
    return new ActionCache(state,
        new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("valid")
  void takesTheRecord(String name, JsonNode v) throws IOException {
    try (InMemoryStateBackend state = InMemoryStateBackend.builder().build()) {
      ActionManifest m = cacheHolding(state, bytes(v)).peek(KEY).orElseThrow();
      JsonNode outputs = new ObjectMapper().readTree(bytes(v)).get("outputs");
      assertEquals(outputs.size(), m.outputs().size());
      for (int i = 0; i < outputs.size(); i++) {
        assertEquals(outputs.get(i).get("path").asText(), m.outputs().get(i).path());
        assertEquals(outputs.get(i).get("size").asLong(), m.outputs().get(i).size());
      }
      assertTrue(state.get(ActionCache.PREFIX + KEY).isPresent());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void dropsWhatThePythonMasterDrops(String name, JsonNode v) {
    try (InMemoryStateBackend state = InMemoryStateBackend.builder().build()) {
      assertFalse(cacheHolding(state, bytes(v)).peek(KEY).isPresent());
      assertFalse(state.get(ActionCache.PREFIX + KEY).isPresent(), "the record is deleted");
    }
    IOException e = assertThrows(IOException.class, () -> ActionRecordReader.read(bytes(v)));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage()); // one line for the log
  }
}
