package dev.buildnet.internal.cache;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Set;

/**
 * Reads an action record ({@code ac/<key>}, docs/CACHE-KEY.md "The action record") exactly as
 * strictly as the Python master does ({@code buildnet.master._store.decode_manifest}), so that a
 * {@code state.db} shared by both masters is a hit or a miss for both alike: UTF-8 JSON with no
 * byte order mark, the documented fields only, the required ones present, no conversion between
 * JSON types, nothing after the object. Both check docs/action-record-vectors.json.
 */
public final class ActionRecordReader {
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();
  private static final Set<String> FIELDS = Set.of("version", "target", "outputs", "directories",
      "stdout", "stderr", "exitCode", "durationMillis", "createdAtMillis");
  private static final Set<String> OUTPUT_FIELDS = Set.of("path", "digest", "size", "executable");

  private ActionRecordReader() {}

  /**
   * A state record's bytes as JSON text, refused in one line as the Python master refuses them:
   * not UTF-8, or starting with a byte order mark (which Jackson would skip).
   */
  public static String jsonText(byte[] raw) throws IOException {
    try {
      String text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(raw)).toString();
      if (text.startsWith("\uFEFF")) {
        throw new IOException("it starts with a byte order mark");
      }
      return text;
    } catch (CharacterCodingException e) {
      throw new IOException("it is not UTF-8");
    }
  }

  /** The record; an IOException says in one line why it cannot be used (a miss). */
  static ActionManifest read(byte[] raw) throws IOException {
    String text = jsonText(raw);
    JsonNode doc;
    try {
      doc = JSON.readTree(text);
    } catch (IOException | RuntimeException e) {
      throw new IOException("unreadable: " + firstLine(e));
    }
    check(doc);
    try {
      ActionManifest m = JSON.treeToValue(doc, ActionManifest.class);
      m.blobs(); // every digest parses
      return m;
    } catch (IOException | RuntimeException e) {
      throw new IOException("unreadable: " + firstLine(e));
    }
  }

  /**
   * The JSON types, checked on the tree before binding, because binding converts (a missing or
   * null number to 0, "6" or 6.0 to 6, 1 to "1") where the Python master refuses.
   */
  private static void check(JsonNode doc) throws IOException {
    if (doc == null || !doc.isObject()) {
      throw new IOException("it is not a JSON object");
    }
    for (Iterator<String> it = doc.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        throw new IOException("unknown field '" + first(f) + "'");
      }
    }
    JsonNode version = doc.get("version");
    if (!isInt(version) || version.intValue() != ActionManifest.VERSION) {
      throw new IOException("of version " + (version == null ? "(none)" : first(version.toString()))
          + ", not " + ActionManifest.VERSION);
    }
    require(doc.get("target") != null && doc.get("target").isTextual(),
        "its target is missing or not a string");
    JsonNode outputs = doc.get("outputs");
    require(outputs != null && outputs.isArray(), "its outputs is missing or not an array");
    for (JsonNode o : outputs) {
      require(o.isObject(), "an output is not an object");
      for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
        require(OUTPUT_FIELDS.contains(it.next()), "an output has a field not in " + OUTPUT_FIELDS);
      }
      require(o.has("path") && o.get("path").isTextual(), "an output's path is missing or not a string");
      require(o.has("digest") && o.get("digest").isTextual(),
          "an output's digest is missing or not a string");
      JsonNode size = o.get("size");
      require(isLong(size) && size.longValue() >= 0,
          "an output's size is missing or not an integer of 0 to 2^63-1");
      require(!o.has("executable") || o.get("executable").isBoolean(),
          "an output's executable is not a boolean");
    }
    JsonNode directories = doc.get("directories");
    require(directories != null && directories.isArray(),
        "its directories is missing or not an array");
    for (JsonNode d : directories) {
      require(d.isTextual(), "its directories are not all strings");
    }
    for (String log : new String[] {"stdout", "stderr"}) {
      JsonNode n = doc.get(log);
      require(n == null || n.isNull() || n.isTextual(), "its " + log + " is neither null nor a digest");
    }
    require(!doc.has("exitCode") || isInt(doc.get("exitCode")), "its exitCode is not an integer");
    for (String f : new String[] {"durationMillis", "createdAtMillis"}) {
      require(!doc.has(f) || isLong(doc.get(f)), "its " + f + " is not an integer");
    }
  }

  private static boolean isInt(JsonNode n) {
    return n != null && n.isIntegralNumber() && n.canConvertToInt();
  }

  private static boolean isLong(JsonNode n) {
    return n != null && n.isIntegralNumber() && n.canConvertToLong();
  }

  private static void require(boolean ok, String why) throws IOException {
    if (!ok) {
      throw new IOException(why);
    }
  }

  private static String first(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }

  private static String firstLine(Exception e) {
    String s = e.getMessage() == null ? e.toString() : e.getMessage();
    return s.lines().findFirst().orElse(e.getClass().getSimpleName());
  }
}
