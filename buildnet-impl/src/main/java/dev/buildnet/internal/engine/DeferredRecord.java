package dev.buildnet.internal.engine;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.buildnet.internal.cache.ActionManifest;
import java.io.IOException;
import java.util.Objects;

/**
 * The value of a {@code deferred/<key>} record in the state backend: which worker keeps an
 * action's outputs, and its manifest (docs/PROTOCOL.md, "The kept-outputs record"). The Python
 * master writes and reads the same bytes ({@code buildnet.master._deferred}); both check
 * docs/deferred-record-vectors.json.
 */
record DeferredRecord(int version, String worker, ActionManifest manifest) {
  static final int VERSION = 1;

  /**
   * As strict as the Python master's reader, so that both masters take or drop the same records:
   * every field present, no other field, no coercion between JSON types, nothing after the
   * object. Writes characters beyond U+FFFF as UTF-8, as the Python master does (Jackson would
   * escape them as surrogate pairs).
   */
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .withCoercionConfig(LogicalType.Textual, c -> c
          .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
      .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
      .build();

  /** A record's bytes: compact UTF-8 JSON, fields in the documented order. */
  static byte[] encode(String worker, ActionManifest manifest) throws IOException {
    return JSON.writeValueAsBytes(new DeferredRecord(VERSION, worker, manifest));
  }

  /**
   * A record read back; an IOException says in one line why it cannot be used (not UTF-8 JSON
   * of the documented fields and types, or another version).
   */
  static DeferredOutputs.Kept decode(byte[] raw) throws IOException {
    String text = dev.buildnet.internal.cache.ActionRecordReader.jsonText(raw);
    DeferredRecord r;
    try {
      r = JSON.readValue(text, DeferredRecord.class);
    } catch (IOException | RuntimeException e) {
      throw new IOException("unreadable: " + firstLine(e));
    }
    if (r == null || r.manifest() == null) {
      throw new IOException("unreadable: it is not an object with a manifest");
    }
    if (r.version() != VERSION || r.manifest().version() != ActionManifest.VERSION) {
      throw new IOException("of another version (" + r.version() + "/" + r.manifest().version()
          + ")");
    }
    if (r.worker() == null || r.worker().isEmpty()) {
      throw new IOException("it names no worker");
    }
    try {
      for (ActionManifest.Output o : r.manifest().outputs()) {
        if (o == null || o.path() == null || o.size() < 0) {
          throw new IOException("an output without a path or with a negative size");
        }
        o.parsedDigest();
      }
      for (String d : r.manifest().directories()) {
        Objects.requireNonNull(d, "a directory is null");
      }
      r.manifest().blobs(); // stdout and stderr: null or a digest
    } catch (RuntimeException e) {
      throw new IOException("unreadable: " + firstLine(e));
    }
    return new DeferredOutputs.Kept(r.worker(), r.manifest());
  }

  private static String firstLine(Exception e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.lines().findFirst().orElse(e.getClass().getSimpleName());
  }
}
