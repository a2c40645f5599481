package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.internal.protocol.Payloads.*;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/**
 * Writes docs/protocol-vectors.json (run by hand after a deliberate protocol change:
 * {@code java -cp ... dev.buildnet.internal.protocol.VectorsGenerator ../docs/protocol-vectors.json}).
 * GoldenVectorsTest checks the committed file; this class only defines the samples.
 */
final class VectorsGenerator {
  private static final HexFormat HEX = HexFormat.of();
  static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);
  static final byte[] CLIENT_NONCE = seq(0x00);
  static final byte[] SERVER_NONCE = seq(0x80);

  private VectorsGenerator() {}

  static byte[] seq(int start) {
    byte[] b = new byte[32];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (start + i);
    }
    return b;
  }

  record Named(String name, Message message) {}

  /**
   * Contents whose digests the samples use: every digest in the file is a real digest of one of
   * these, so implementations can recompute each (see the file's "digests" table).
   */
  static final Map<String, byte[]> CONTENTS = contents();
  static final byte[] BLOB = {1, 2, 3, 4, 5, 6};

  private static Map<String, byte[]> contents() {
    Map<String, byte[]> c = new LinkedHashMap<>();
    c.put("blob_01_to_06", new byte[] {1, 2, 3, 4, 5, 6});
    c.put("lib_js", utf8("export const lib = 1;\n"));
    c.put("run_script", utf8("#!/bin/sh\nexec node dist/lib.js\n"));
    c.put("build_js", utf8("require('./src/index.ts');\n"));
    c.put("index_ts", utf8("export const index = 42;\n"));
    c.put("main_ts", utf8("console.log('web');\n"));
    c.put("empty", new byte[0]);
    return c;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String xxh64(String content) {
    return dev.buildnet.api.hash.HashProvider.xxh64().hash(CONTENTS.get(content)).toString();
  }

  static String sha256(String content) {
    return dev.buildnet.api.hash.HashProvider.sha256().hash(CONTENTS.get(content)).toString();
  }

  static long size(String content) {
    return CONTENTS.get(content).length;
  }

  static List<Named> samples() {
    List<Named> s = new ArrayList<>();
    long ts = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    byte[] clientProof = Auth.clientProof(SECRET, SERVER_NONCE, CLIENT_NONCE, "worker", "worker-1");
    byte[] serverProof = Auth.serverProof(SECRET, CLIENT_NONCE, SERVER_NONCE, "master-1");
    add(s, "hello_worker", "w-1", ts, "python",
        new Hello("worker", "worker-1", 0, CLIENT_NONCE, List.of("node", "esbuild"), 8L, 16384L));
    add(s, "hello_client", "c-1", ts, "jvm",
        new Hello("client", "cli-ä", 3, CLIENT_NONCE, null, null, null));
    add(s, "auth_challenge", "m-1", ts, "jvm", new AuthChallenge("w-1", SERVER_NONCE));
    add(s, "auth_proof", "w-2", ts, "python", new AuthProof("m-1", clientProof));
    add(s, "hello_ack_accepted", "m-2", ts, "jvm",
        new HelloAck("w-1", true, 0, "master-1", serverProof, null, null, 10000L, "xxh64"));
    add(s, "hello_ack_refused_version", "m-3", ts, "jvm",
        new HelloAck("w-1", false, 0, "master-1", null, 7L,
            "protocol major version 2 is not supported; this master speaks 1.0", null));
    add(s, "ack", "m-4", ts, "jvm", new Ack("c-7"));
    add(s, "error_unknown_type", "m-5", ts, "jvm",
        new ErrorReply("c-8", 6, "unknown message type 0x99", false));
    add(s, "error_fatal_no_reply_to", "m-6", ts, "jvm",
        new ErrorReply(null, 2, "frame of 16777217 bytes exceeds the maximum of 16777216 bytes", true));
    add(s, "heartbeat", "w-3", ts, "python", new Heartbeat(null));
    add(s, "heartbeat_running", "w-4", ts, "python", new Heartbeat(2L));
    add(s, "heartbeat_ack", "m-7", ts, "jvm", new HeartbeatAck("w-3"));
    Map<String, String> env = new LinkedHashMap<>();
    env.put("NODE_ENV", "production");
    env.put("CI", "1");
    add(s, "build_request_client", "c-2", ts, "jvm",
        new BuildRequest("b-42", List.of("app", "lib"), null, true, null, env, 600000L));
    add(s, "build_request_attempt", "m-8", ts, "jvm",
        new BuildRequest("b-42", List.of("lib"), 2L, null, false, null, null));
    add(s, "build_started", "m-9", ts, "jvm", new BuildStarted("c-2", "b-42", null, null, null));
    add(s, "build_started_attempt", "w-5", ts, "python",
        new BuildStarted("m-8", "b-42", "lib", 2L, "worker-1"));
    add(s, "build_progress", "m-10", ts, "jvm",
        new BuildProgress("b-42", 3, 10, "lib", "executing", "bundling lib"));
    add(s, "build_completed", "w-6", ts, "python",
        new BuildCompleted("b-42", "lib", 2L, 1234,
            List.of(new Output("dist/lib.js", sha256("lib_js"), size("lib_js"), null),
                new Output("bin/run", xxh64("run_script"), size("run_script"), true)),
            0L, 1L));
    add(s, "build_failed", "m-11", ts, "jvm",
        new BuildFailed("b-42", null, null, "1 target failed: lib", 1L, false, List.of("lib")));
    add(s, "build_cancel", "c-3", ts, "jvm", new BuildCancel("b-42", "user pressed Ctrl-C"));
    add(s, "target_cancel", "m-12", ts, "jvm", new TargetCancel("b-42", "lib", 2, null));
    Map<String, String> runEnv = new LinkedHashMap<>();
    runEnv.put("PATH", "/usr/bin:/bin");
    runEnv.put("NODE_ENV", "production");
    add(s, "target_run", "m-28", ts, "jvm",
        new TargetRun("b-42", "lib", 2, List.of("node", "build.js", "--out", "dist"), "packages/lib",
            runEnv,
            List.of(new Output("packages/lib/build.js", sha256("build_js"), size("build_js"), null),
                new Output("packages/lib/src/index.ts", xxh64("index_ts"), size("index_ts"), false)),
            List.of("packages/lib/dist", "packages/lib/types.d.ts"), 600000L, 1048576L));
    add(s, "target_run_bundler", "m-29", ts, "jvm",
        new TargetRun("b-42", "web", 1, List.of("esbuild"), "web", Map.of("NODE_ENV", "production"),
            List.of(new Output("web/src/main.ts", xxh64("main_ts"), size("main_ts"), null)),
            List.of("web/dist"), null, null, "esbuild", List.of("src/main.ts"), "web/dist",
            Map.of("minify", "true", "format", "esm")));
    add(s, "target_run_keep_outputs", "m-30", ts, "jvm",
        new TargetRun("b-42", "gen", 1, List.of("sh", "gen.sh"), "", Map.of("PATH", "/usr/bin:/bin"),
            List.of(new Output("gen.sh", xxh64("run_script"), size("run_script"), true)),
            List.of("out/gen"), null, null).keepingOutputs());
    add(s, "build_progress_log", "w-18", ts, "python",
        new BuildProgress("b-42", 0, 1, "lib", "log", "compiled 12 modules", "stdout"));
    add(s, "state_get", "w-7", ts, "python", new StateGet("cache/last-build"));
    add(s, "state_set", "w-8", ts, "python",
        new StateSet("cache/last-build", "b-42".getBytes(StandardCharsets.UTF_8), 3600000L));
    add(s, "state_delete", "w-9", ts, "python", new StateDelete("cache/last-build"));
    add(s, "state_response_found", "m-13", ts, "jvm",
        new StateResponse("w-7", true, "b-42".getBytes(StandardCharsets.UTF_8)));
    add(s, "state_response_missing", "m-14", ts, "jvm", new StateResponse("w-9", false, null));
    add(s, "state_set_if_absent", "c-9", ts, "jvm",
        new StateSet("leader", "c-9".getBytes(StandardCharsets.UTF_8), 30000L, true, null));
    add(s, "state_set_compare_and_set", "c-10", ts, "jvm",
        new StateSet("version", "2".getBytes(StandardCharsets.UTF_8), null, null,
            "1".getBytes(StandardCharsets.UTF_8)));
    add(s, "state_response_applied", "m-24", ts, "jvm",
        new StateResponse("c-10", true, null, true, null, null));
    add(s, "state_keys", "c-11", ts, "jvm", new StateKeys("cache/"));
    add(s, "state_response_keys", "m-25", ts, "jvm",
        new StateResponse("c-11", true, null, null, null, List.of("cache/a", "cache/b")));
    add(s, "state_increment", "c-12", ts, "jvm", new StateIncrement("builds", -3));
    add(s, "state_response_number", "m-26", ts, "jvm",
        new StateResponse("c-12", true, null, null, 39L, null));
    add(s, "lock_acquire", "w-10", ts, "python", new LockAcquire("deploy", "worker-1", 30000, 5000L));
    add(s, "lock_release", "w-11", ts, "python", new LockRelease("deploy", "tok-1"));
    add(s, "lock_response_granted", "m-15", ts, "jvm",
        new LockResponse("w-10", true, "tok-1", "worker-1", 30000L));
    add(s, "lock_response_denied", "m-16", ts, "jvm",
        new LockResponse("w-10", false, null, null, null));
    add(s, "lock_renew", "c-13", ts, "jvm", new LockRenew("deploy", "cli-1", "7", 30000));
    add(s, "lock_release_with_holder", "c-14", ts, "jvm", new LockRelease("deploy", "7", "cli-1"));
    add(s, "lock_response_expires_at", "m-27", ts, "jvm",
        new LockResponse("c-13", true, "7", "cli-1", 30000L, ts + 30000));
    add(s, "resource_claim", "w-12", ts, "python", new ResourceClaim("claim-1", 2, 2048));
    add(s, "resource_release", "w-13", ts, "python", new ResourceRelease("claim-1"));
    add(s, "resource_status", "m-17", ts, "jvm",
        new ResourceStatus("w-12", "claim-1", true, 6, 14336, 8, 16384));
    add(s, "blob_has", "w-14", ts, "python",
        new BlobHas(List.of(sha256("lib_js"), xxh64("blob_01_to_06"))));
    add(s, "blob_has_response", "m-18", ts, "jvm",
        new BlobHasResponse("w-14", List.of(xxh64("blob_01_to_06"))));
    add(s, "blob_put_first", "w-15", ts, "python",
        new BlobPut("t-1", 0, new byte[] {1, 2, 3, 4}, false, null, null));
    add(s, "blob_put_last", "w-16", ts, "python",
        new BlobPut("t-1", 4, new byte[] {5, 6}, true, xxh64("blob_01_to_06"), 6L));
    add(s, "blob_put_response", "m-19", ts, "jvm",
        new BlobPutResponse("w-16", xxh64("blob_01_to_06"), true));
    add(s, "blob_get", "w-17", ts, "python", new BlobGet(xxh64("blob_01_to_06"), null, 65536L));
    add(s, "blob_chunk_last", "m-20", ts, "jvm",
        new BlobChunk("w-17", 0, new byte[] {1, 2, 3, 4, 5, 6}, true, xxh64("blob_01_to_06"), 6L));
    add(s, "subscribe", "c-4", ts, "jvm", new Subscribe("sub-1", "b-42", true));
    add(s, "subscribe_reattach", "c-15", ts, "python", new Subscribe("sub-2", "b-42", null, 7L));
    add(s, "unsubscribe", "c-5", ts, "jvm", new Unsubscribe("sub-1"));
    add(s, "event_target_finished", "m-21", ts, "jvm",
        new Event("sub-1", 7, "target_finished", "b-42", ts + 1500, "lib", "built", null, null));
    add(s, "event_build_finished", "m-30", ts, "jvm",
        new Event("sub-1", 9, "build_finished", "b-42", ts + 1600, null, "succeeded", null, null));
    add(s, "event_log", "m-22", ts, "jvm",
        new Event("sub-1", 8, "log", "b-42", ts + 1501, "lib", null, "stderr", "warning: ünused import ✓"));
    add(s, "negative_and_large_integers", "m-23", -1L, "jvm",
        new BuildProgress("b-42", Long.MAX_VALUE, 65536, null, null, null));
    return s;
  }

  private static void add(List<Named> s, String name, String id, long ts, String runtime, Payload p) {
    s.add(new Named(name, new Message(1, p.type(), id, ts, runtime, p)));
  }

  record Bad(String name, byte[] frame, ErrorCode code, boolean fatal, String messageId, String why) {}

  static List<Bad> errors() throws IOException {
    List<Bad> b = new ArrayList<>();
    b.add(new Bad("oversized_length", hex("01000001 80"), ErrorCode.FRAME_TOO_LARGE, true, null,
        "the prefix declares 16 MiB + 1 bytes, one over the default maximum; rejected before reading on"));
    b.add(new Bad("max_length_prefix", hex("ffffffff"), ErrorCode.FRAME_TOO_LARGE, true, null,
        "an unsigned 32-bit prefix of 4 GiB - 1"));
    b.add(new Bad("truncated_frame", hex("00000014 86a7"), ErrorCode.BAD_FRAME, true, null,
        "the prefix declares 20 bytes, 2 follow"));
    b.add(new Bad("empty_frame", hex("00000000"), ErrorCode.BAD_FRAME, true, null,
        "a zero-length frame has no envelope"));
    b.add(new Bad("garbage", hex("00000004 c1c1c1c1"), ErrorCode.BAD_FRAME, true, null,
        "0xC1 is never valid MessagePack"));
    b.add(new Bad("not_a_map", hex("00000004 93010203"), ErrorCode.BAD_FRAME, true, null,
        "the frame holds an array, not the envelope map"));
    b.add(new Bad("payload_not_a_map",
        raw(p -> { envelope(p, 0x30, "w-1"); p.packArrayHeader(1); p.packString("k"); }),
        ErrorCode.BAD_FRAME, true, "w-1",
        "the envelope's payload must be a map, whatever the type: an array is BAD_FRAME"));
    b.add(new Bad("payload_not_a_map_unknown_type",
        raw(p -> { envelope(p, 0x99, "w-1"); p.packString("k"); }),
        ErrorCode.BAD_FRAME, true, "w-1",
        "the same rule for a type the receiver does not know: BAD_FRAME, not UNKNOWN_TYPE"));
    b.add(new Bad("envelope_keys_out_of_order",
        raw(p -> { p.packMapHeader(6); p.packString("type"); p.packInt(0x10);
          p.packString("version"); p.packInt(1); p.packString("id"); p.packString("x");
          p.packString("timestamp"); p.packInt(0); p.packString("runtime"); p.packString("jvm");
          p.packString("payload"); p.packMapHeader(0); }),
        ErrorCode.BAD_FRAME, true, null, "envelope keys must come in the documented order"));
    b.add(new Bad("string_length_beyond_frame",
        raw(p -> { envelopeUpTo(p, "id"); p.packRawStringHeader(1_000_000_000); }),
        ErrorCode.BAD_FRAME, true, null, "a str32 header declares 1e9 bytes inside a tiny frame"));
    b.add(new Bad("map_count_beyond_frame",
        raw(p -> { p.packMapHeader(Integer.MAX_VALUE); }),
        ErrorCode.BAD_FRAME, true, null, "a map32 header declares 2^31-1 entries"));
    b.add(new Bad("invalid_utf8_id",
        raw(p -> { envelopeUpTo(p, "id"); p.packRawStringHeader(2); p.writePayload(new byte[] {(byte) 0xff, (byte) 0xfe});
          p.packString("timestamp"); p.packInt(0); p.packString("runtime"); p.packString("jvm");
          p.packString("payload"); p.packMapHeader(0); }),
        ErrorCode.INVALID_UTF8, true, null, "the id is the bytes ff fe"));
    b.add(new Bad("overlong_utf8_in_payload",
        raw(p -> { envelope(p, 0x30, "w-1"); p.packMapHeader(1); p.packString("key");
          p.packRawStringHeader(2); p.writePayload(new byte[] {(byte) 0xc0, (byte) 0xaf}); }),
        ErrorCode.INVALID_UTF8, true, "w-1", "C0 AF is an overlong encoding of '/'"));
    b.add(new Bad("too_deep",
        raw(p -> { envelope(p, 0x10, "w-1"); p.packMapHeader(1); p.packString("future_field");
          for (int i = 0; i < 16; i++) { p.packArrayHeader(1); } p.packInt(0); }),
        ErrorCode.TOO_DEEP, true, "w-1",
        "an unknown payload field holds 16 nested arrays, reaching depth 18 > 16"));
    b.add(new Bad("unknown_type",
        raw(p -> { envelope(p, 0x99, "w-1"); p.packMapHeader(1); p.packString("x"); p.packInt(1); }),
        ErrorCode.UNKNOWN_TYPE, false, "w-1",
        "type 0x99 is unknown: the receiver answers ERROR and keeps the connection"));
    b.add(new Bad("wrong_field_type",
        raw(p -> { envelope(p, 0x20, "c-1"); p.packMapHeader(2); p.packString("build_id"); p.packString("b");
          p.packString("targets"); p.packString("app"); }),
        ErrorCode.INVALID_PAYLOAD, true, "c-1", "targets must be an array of str, not a str"));
    b.add(new Bad("missing_required_field",
        raw(p -> { envelope(p, 0x30, "w-1"); p.packMapHeader(0); }),
        ErrorCode.INVALID_PAYLOAD, true, "w-1", "STATE_GET without key"));
    b.add(new Bad("rule_violation",
        raw(p -> { envelope(p, 0x01, "w-1"); p.packMapHeader(4); p.packString("role"); p.packString("admin");
          p.packString("peer_id"); p.packString("x"); p.packString("minor"); p.packInt(0);
          p.packString("nonce"); p.packBinaryHeader(32); p.writePayload(new byte[32]); }),
        ErrorCode.INVALID_PAYLOAD, true, "w-1", "role must be worker or client"));
    b.add(new Bad("duplicate_field",
        raw(p -> { envelope(p, 0x30, "w-1"); p.packMapHeader(2); p.packString("key"); p.packString("a");
          p.packString("key"); p.packString("b"); }),
        ErrorCode.INVALID_PAYLOAD, true, "w-1", "a payload key may appear once"));
    b.add(new Bad("trailing_bytes_in_frame",
        raw(p -> { envelope(p, 0x10, "w-1"); p.packMapHeader(0); p.packNil(); }),
        ErrorCode.BAD_FRAME, true, "w-1", "a nil after the envelope inside the declared length"));
    b.add(new Bad("integer_beyond_int64",
        uint64Frame(),
        ErrorCode.INVALID_PAYLOAD, true, "m-1", "a uint64 above 2^63-1 in an int field"));
    return b;
  }

  private static byte[] uint64Frame() throws IOException {
    return raw(p -> { envelope(p, 0x22, "m-1"); p.packMapHeader(3); p.packString("build_id"); p.packString("b");
      p.packString("completed"); p.packBigInteger(new java.math.BigInteger("18446744073709551615"));
      p.packString("total"); p.packInt(1); });
  }

  interface Packing {
    void pack(MessageBufferPacker p) throws IOException;
  }

  static byte[] raw(Packing body) throws IOException {
    try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
      body.pack(p);
      byte[] b = p.toByteArray();
      return ByteBuffer.allocate(4 + b.length).putInt(b.length).put(b).array();
    }
  }

  private static void envelope(MessageBufferPacker p, int type, String id) throws IOException {
    p.packMapHeader(6);
    p.packString("version"); p.packInt(1);
    p.packString("type"); p.packInt(type);
    p.packString("id"); p.packString(id);
    p.packString("timestamp"); p.packLong(1_767_225_600_000L);
    p.packString("runtime"); p.packString("jvm");
    p.packString("payload");
  }

  private static void envelopeUpTo(MessageBufferPacker p, String key) throws IOException {
    p.packMapHeader(6);
    p.packString("version"); p.packInt(1);
    p.packString("type"); p.packInt(0x10);
    p.packString(key);
  }

  private static byte[] hex(String s) {
    return HEX.parseHex(s.replace(" ", ""));
  }

  static ObjectNode document() throws IOException {
    FrameCodec codec = FrameCodec.withDefaults();
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode root = f.objectNode();
    root.put("protocol", "buildnet");
    root.put("major", Protocol.MAJOR);
    root.put("minor", Protocol.MINOR);
    root.put("max_frame_bytes", FrameCodec.DEFAULT_MAX_FRAME_BYTES);
    ArrayNode digests = root.putArray("digests");
    for (Map.Entry<String, byte[]> c : CONTENTS.entrySet()) {
      ObjectNode d = digests.addObject();
      d.put("name", c.getKey());
      d.put("content_hex", HEX.formatHex(c.getValue()));
      d.put("xxh64", xxh64(c.getKey()));
      d.put("sha256", sha256(c.getKey()));
    }
    ArrayNode vectors = root.putArray("vectors");
    for (Named n : samples()) {
      ObjectNode v = vectors.addObject();
      v.put("name", n.name());
      v.put("hex", HEX.formatHex(codec.encode(n.message())));
      v.set("message", JsonForm.toJson(n.message()));
    }
    ArrayNode errors = root.putArray("errors");
    for (Bad b : errors()) {
      ObjectNode v = errors.addObject();
      v.put("name", b.name());
      v.put("hex", HEX.formatHex(b.frame()));
      v.put("why", b.why());
      ObjectNode e = v.putObject("error");
      e.put("code", b.code().name());
      e.put("code_number", b.code().code());
      e.put("fatal", b.fatal());
      if (b.messageId() == null) {
        e.putNull("message_id");
      } else {
        e.put("message_id", b.messageId());
      }
    }
    ObjectNode auth = root.putObject("auth");
    auth.put("secret_hex", HEX.formatHex(SECRET));
    auth.put("client_nonce_hex", HEX.formatHex(CLIENT_NONCE));
    auth.put("server_nonce_hex", HEX.formatHex(SERVER_NONCE));
    auth.put("role", "worker");
    auth.put("peer_id", "worker-1");
    auth.put("listener_id", "master-1");
    auth.put("client_proof_hex",
        HEX.formatHex(Auth.clientProof(SECRET, SERVER_NONCE, CLIENT_NONCE, "worker", "worker-1")));
    auth.put("server_proof_hex",
        HEX.formatHex(Auth.serverProof(SECRET, CLIENT_NONCE, SERVER_NONCE, "master-1")));
    return root;
  }

  static String render() throws IOException {
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(document()) + "\n";
  }

  public static void main(String[] args) throws IOException {
    Files.writeString(Path.of(args[0]), render());
  }
}
