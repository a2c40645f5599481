package dev.buildnet.protocol;

import dev.buildnet.api.transport.MessageType;

/** Prints the payload field tables of docs/PROTOCOL.md from the schema (run by hand). */
final class PayloadTables {
  private PayloadTables() {}

  /** Meaning by "TYPE.field", falling back to "field". */
  private static final java.util.Map<String, String> MEANING = java.util.Map.ofEntries(
      java.util.Map.entry("reply_to", "`id` of the request this answers"),
      java.util.Map.entry("build_id", "the build, chosen by the client (unique per master)"),
      java.util.Map.entry("target", "target name; present when the message is about one target attempt"),
      java.util.Map.entry("attempt", "attempt number of the target, from 1"),
      java.util.Map.entry("HELLO.role", "`\"worker\"` or `\"client\"`"),
      java.util.Map.entry("HELLO.peer_id", "the connecting peer's id, non-empty"),
      java.util.Map.entry("HELLO.minor", "the sender's minor protocol version (>= 0)"),
      java.util.Map.entry("HELLO.nonce", "client nonce: exactly 32 random bytes (CSPRNG)"),
      java.util.Map.entry("capabilities", "worker capabilities, e.g. `node`, `esbuild` (workers)"),
      java.util.Map.entry("cpu_slots", "CPU slots (>= 1); required for workers"),
      java.util.Map.entry("memory_mb", "memory in MB (>= 1); required for workers"),
      java.util.Map.entry("HELLO_ACK.accepted", "true: authenticated and registered; false: refused, then closed"),
      java.util.Map.entry("HELLO_ACK.minor", "the listener's minor version"),
      java.util.Map.entry("HELLO_ACK.peer_id", "the listener's id (the master id)"),
      java.util.Map.entry("HELLO_ACK.proof", "listener proof, 32 bytes; required iff accepted"),
      java.util.Map.entry("HELLO_ACK.error_code", "error code; required iff refused"),
      java.util.Map.entry("HELLO_ACK.reason", "human-readable reason; required iff refused"),
      java.util.Map.entry("HELLO_ACK.heartbeat_ms", "how often the connecting side should send HEARTBEAT (>= 1)"),
      java.util.Map.entry("AUTH_CHALLENGE.nonce", "server nonce: exactly 32 random bytes (CSPRNG)"),
      java.util.Map.entry("AUTH_PROOF.proof", "client proof (32 bytes expected; any other value is a wrong proof)"),
      java.util.Map.entry("ERROR.reply_to", "`id` of the offending message, if it could be read"),
      java.util.Map.entry("ERROR.code", "an error code (see Error codes)"),
      java.util.Map.entry("ERROR.message", "human-readable description"),
      java.util.Map.entry("ERROR.fatal", "true: the sender closes the connection after this"),
      java.util.Map.entry("HEARTBEAT.running", "target attempts the sender is running (workers)"),
      java.util.Map.entry("targets", "target names, at least one"),
      java.util.Map.entry("BUILD_REQUEST.attempt", "present only master -> worker: run this attempt of the single target"),
      java.util.Map.entry("keep_going", "continue after a target fails (default false)"),
      java.util.Map.entry("force", "ignore the cache (default false)"),
      java.util.Map.entry("env", "extra environment variables; encoded with keys in byte-wise UTF-8 order"),
      java.util.Map.entry("timeout_ms", "per-target timeout in ms (>= 1)"),
      java.util.Map.entry("worker_id", "the worker running the attempt"),
      java.util.Map.entry("completed", "targets finished so far (>= 0)"),
      java.util.Map.entry("total", "targets in the build (>= 0)"),
      java.util.Map.entry("phase", "free text, e.g. `hashing`, `executing`"),
      java.util.Map.entry("BUILD_PROGRESS.message", "free text for people"),
      java.util.Map.entry("duration_ms", "wall time in ms (>= 0)"),
      java.util.Map.entry("outputs", "output files (target attempts)"),
      java.util.Map.entry("cache_hits", "targets restored from cache"),
      java.util.Map.entry("executed", "targets executed"),
      java.util.Map.entry("path", "workspace-relative path, `/`-separated"),
      java.util.Map.entry("digest", "content digest `algorithm:hex`, e.g. `sha256:ab..`"),
      java.util.Map.entry("size", "size in bytes (>= 0)"),
      java.util.Map.entry("executable", "file mode has the executable bit (default false)"),
      java.util.Map.entry("error", "what failed, for people"),
      java.util.Map.entry("exit_code", "the failing command's exit code"),
      java.util.Map.entry("retryable", "a retry may succeed (infrastructure failure)"),
      java.util.Map.entry("failed_targets", "names of targets that failed"),
      java.util.Map.entry("reason", "why, for people"),
      java.util.Map.entry("TARGET_CANCEL.attempt", "the attempt to cancel (>= 1)"),
      java.util.Map.entry("TARGET_RUN.target", "the target to run"),
      java.util.Map.entry("TARGET_RUN.attempt", "the attempt (>= 1); every reply names it, so a late reply of a superseded attempt can be ignored"),
      java.util.Map.entry("argv", "the command and its arguments, at least one"),
      java.util.Map.entry("cwd", "working directory relative to the sandbox root, `/`-separated; empty: the root"),
      java.util.Map.entry("TARGET_RUN.env", "the complete environment of the command (nothing is inherited); keys in byte-wise UTF-8 order"),
      java.util.Map.entry("inputs", "files to materialize in the sandbox before running"),
      java.util.Map.entry("TARGET_RUN.outputs", "declared output paths (files or directories) to collect after success"),
      java.util.Map.entry("TARGET_RUN.timeout_ms", "kill the attempt after this many ms (>= 1); absent: no limit"),
      java.util.Map.entry("output_cap", "most bytes of log output streamed (>= 1); the rest is dropped"),
      java.util.Map.entry("BUILD_PROGRESS.stream", "`stdout` or `stderr` for a `log` line (since 1.2)"),
      java.util.Map.entry("key", "state key, non-empty"),
      java.util.Map.entry("value", "the value's bytes (opaque)"),
      java.util.Map.entry("ttl_ms", "expire after this many ms (>= 1); absent: never"),
      java.util.Map.entry("found", "GET: key exists (then `value` is present); SET/DELETE: key existed before"),
      java.util.Map.entry("name", "lock name, non-empty"),
      java.util.Map.entry("holder", "ACQUIRE: who asks; RESPONSE: current holder (when known)"),
      java.util.Map.entry("LOCK_ACQUIRE.holder", "who asks: the lease is granted to this holder"),
      java.util.Map.entry("LOCK_RESPONSE.holder", "the holder a grant went to; absent when refused"),
      java.util.Map.entry("lease_ms", "lease length in ms (>= 1)"),
      java.util.Map.entry("wait_ms", "how long the master may wait for the lock (default 0)"),
      java.util.Map.entry("token", "fencing token of the held lock; required to release"),
      java.util.Map.entry("granted", "the request succeeded"),
      java.util.Map.entry("claim_id", "the claim, chosen by the claimer"),
      java.util.Map.entry("cpu_slots_free", "free CPU slots after this request"),
      java.util.Map.entry("memory_mb_free", "free memory after this request"),
      java.util.Map.entry("cpu_slots_total", "all CPU slots"),
      java.util.Map.entry("memory_mb_total", "all memory"),
      java.util.Map.entry("digests", "digests the sender may upload"),
      java.util.Map.entry("missing", "those of them the receiver lacks (same order)"),
      java.util.Map.entry("transfer_id", "names one upload; chosen by the uploader, unique per connection"),
      java.util.Map.entry("offset", "byte offset of `data` in the blob (>= 0)"),
      java.util.Map.entry("data", "at most 1 MiB (1048576 bytes)"),
      java.util.Map.entry("last", "this is the final chunk"),
      java.util.Map.entry("BLOB_PUT.digest", "digest of the whole blob; required iff `last`"),
      java.util.Map.entry("BLOB_CHUNK.digest", "digest of the whole blob; required iff `last`"),
      java.util.Map.entry("BLOB_PUT.size", "size of the whole blob, = offset + len(data); required iff `last`"),
      java.util.Map.entry("BLOB_CHUNK.size", "size of the whole blob, = offset + len(data); required iff `last`"),
      java.util.Map.entry("stored", "false if the receiver already had it"),
      java.util.Map.entry("BLOB_GET.offset", "start here (default 0)"),
      java.util.Map.entry("max_chunk", "largest `data` per BLOB_CHUNK, 1..1048576 (default 1048576)"),
      java.util.Map.entry("subscription_id", "names the subscription; chosen by the subscriber"),
      java.util.Map.entry("SUBSCRIBE.build_id", "only this build's events; absent: all builds"),
      java.util.Map.entry("logs", "include log lines (default false)"),
      java.util.Map.entry("seq", "1, 2, 3... per subscription; a gap means events were dropped"),
      java.util.Map.entry("kind", "`build_started`, `build_finished`, `target_started`, `target_finished` or `log`"),
      java.util.Map.entry("at", "when it happened, epoch ms"),
      java.util.Map.entry("status", "finished events: e.g. `succeeded`, `failed`, `cached`, `cancelled`"),
      java.util.Map.entry("stream", "`stdout` or `stderr`; required for `log`"),
      java.util.Map.entry("line", "one log line without its newline; required for `log`"),
      java.util.Map.entry("if_absent", "store only if the key is absent or expired (since 1.1)"),
      java.util.Map.entry("expected", "store only if the current value is these bytes; the new value never expires; excludes `if_absent` and `ttl_ms` (since 1.1)"),
      java.util.Map.entry("applied", "conditional SET: whether the value was stored (since 1.1)"),
      java.util.Map.entry("number", "INCREMENT: the new value (since 1.1)"),
      java.util.Map.entry("keys", "KEYS: the live keys with the prefix, ascending by UTF-16 code units (since 1.1)"),
      java.util.Map.entry("prefix", "key prefix; empty: every key"),
      java.util.Map.entry("delta", "amount to add (may be negative)"),
      java.util.Map.entry("LOCK_RENEW.holder", "the holder the lease was granted to"),
      java.util.Map.entry("LOCK_RENEW.lease_ms", "new lease length from now, in ms (>= 1)"),
      java.util.Map.entry("LOCK_RELEASE.holder", "the holder the lease was granted to (since 1.1; recommended)"),
      java.util.Map.entry("expires_at", "when the lease lapses, epoch ms on the master's state clock (since 1.1)"));

  private static String meaning(String type, String field) {
    String m = MEANING.get(type + "." + field);
    return m != null ? m : MEANING.getOrDefault(field, "");
  }

  public static void main(String[] args) {
    for (MessageType t : MessageType.values()) {
      Schema s = Schema.of(t);
      System.out.printf("#### %s (0x%02X)%n%n", t.name(), t.code());
      table(s, t.name());
    }
  }

  static void table(Schema s, String type) {
    System.out.println("| # | field | type | required | meaning |");
    System.out.println("|---|-------|------|----------|---------|");
    int i = 1;
    for (Schema.Field f : s.fields) {
      System.out.printf("| %d | `%s` | %s | %s | %s |%n", i++, f.name(), f.kind().wire,
          f.required() ? "yes" : "no", meaning(type, f.name()));
    }
    System.out.println();
    for (Schema.Field f : s.fields) {
      if (f.element() != null) {
        System.out.printf("Elements of `%s`:%n%n", f.name());
        table(f.element(), type);
      }
    }
  }
}
