// GENERATED from docs/protocol/schema.json: do not edit.
// Regenerate (from the repository root): python3 python/tools/gen_wire_schema.py
package dev.buildnet.internal.protocol;

import static dev.buildnet.internal.protocol.PayloadRules.*;

import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One immutable record per {@link MessageType}: the typed payloads that {@code docs/PROTOCOL.md}
 * specifies, generated from {@code docs/protocol/schema.json}. Component order is the order
 * fields are written on the wire; component names in camelCase are the wire names in snake_case
 * ({@code replyTo} is {@code reply_to}). A {@code null} optional component is absent on the
 * wire.
 *
 * <p>Constructors check the rules the document states (e.g. nonce length, chunk size) and throw
 * {@link IllegalArgumentException}; the decoder reports such a violation as {@link
 * ErrorCode#INVALID_PAYLOAD}. Records holding {@code byte[]} do not copy it: treat it as
 * read-only.
 *
 * @since 0.1
 */
public final class Payloads {
  private Payloads() {}

  /** The largest {@code data} of one BLOB_PUT or BLOB_CHUNK: 1 MiB. */
  public static final int MAX_CHUNK_BYTES = 1048576;

  /** Nonce and proof length in bytes. */
  public static final int NONCE_BYTES = 32;

  /** A payload that answers a request: {@code replyTo} is the request's envelope id. */
  public interface Reply extends Payload {
    /** The request's id, or null where the document allows an unsolicited message. */
    String replyTo();
  }

  /**
   * One output file of a finished target (inside BUILD_COMPLETED, and the {@code inputs} of
   * TARGET_RUN).
   */
  public record Output(String path, String digest, long size, @Opt Boolean executable) {
    public Output {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(digest, "digest");
      nonNegative("size", size);
    }
  }

  /** First message of a connection, from the connecting peer (worker or client). */
  public record Hello(
      String role,
      String peerId,
      long minor,
      byte[] nonce,
      @Opt List<String> capabilities,
      @Opt Long cpuSlots,
      @Opt Long memoryMb)
      implements Payload {
    public static final String WORKER = "worker";
    public static final String CLIENT = "client";
    private static final List<String> ROLE_VALUES = List.of("worker", "client");

    public Hello {
      Objects.requireNonNull(role, "role");
      oneOf("role", role, ROLE_VALUES);
      nonEmpty("peer_id", peerId);
      nonNegative("minor", minor);
      Objects.requireNonNull(nonce, "nonce");
      length("nonce", nonce, NONCE_BYTES);
      capabilities = copy(capabilities);
      workerResources(role, cpuSlots, memoryMb);
      positive("cpu_slots", cpuSlots);
      positive("memory_mb", memoryMb);
    }

    @Override
    public MessageType type() {
      return MessageType.HELLO;
    }
  }

  /** The listener's verdict on a HELLO: accepted (with its proof) or refused (with a reason). */
  public record HelloAck(
      String replyTo,
      boolean accepted,
      long minor,
      String peerId,
      @Opt byte[] proof,
      @Opt Long errorCode,
      @Opt String reason,
      @Opt Long heartbeatMs,
      @Opt String blobAlgorithm)
      implements Reply {
    public HelloAck {
      Objects.requireNonNull(replyTo, "replyTo");
      nonNegative("minor", minor);
      Objects.requireNonNull(peerId, "peerId");
      acceptedOrRefused(accepted, proof, errorCode, reason);
      positive("heartbeat_ms", heartbeatMs);
      if (blobAlgorithm != null) {
        nonEmpty("blob_algorithm", blobAlgorithm);
      }
    }

    /** A HELLO_ACK without {@code blob_algorithm} (what a master without a blob store sends). */
    public HelloAck(
        String replyTo,
        boolean accepted,
        long minor,
        String peerId,
        byte[] proof,
        Long errorCode,
        String reason,
        Long heartbeatMs) {
      this(replyTo, accepted, minor, peerId, proof, errorCode, reason, heartbeatMs, null);
    }

    @Override
    public MessageType type() {
      return MessageType.HELLO_ACK;
    }
  }

  /** The listener's nonce, answering a HELLO. */
  public record AuthChallenge(String replyTo, byte[] nonce) implements Reply {
    public AuthChallenge {
      Objects.requireNonNull(replyTo, "replyTo");
      Objects.requireNonNull(nonce, "nonce");
      length("nonce", nonce, NONCE_BYTES);
    }

    @Override
    public MessageType type() {
      return MessageType.AUTH_CHALLENGE;
    }
  }

  /** The connecting peer's proof that it knows the secret, answering an AUTH_CHALLENGE. */
  public record AuthProof(String replyTo, byte[] proof) implements Reply {
    public AuthProof {
      Objects.requireNonNull(replyTo, "replyTo");
      Objects.requireNonNull(proof, "proof");
    }

    @Override
    public MessageType type() {
      return MessageType.AUTH_PROOF;
    }
  }

  /** Success without data, for requests that need nothing more (cancel, subscribe, ...). */
  public record Ack(String replyTo) implements Reply {
    public Ack {
      Objects.requireNonNull(replyTo, "replyTo");
    }

    @Override
    public MessageType type() {
      return MessageType.ACK;
    }
  }

  /** A failure: of a request ({@code reply_to} set) or of the connection ({@code fatal}). */
  public record ErrorReply(
      @Opt String replyTo,
      long code,
      String message,
      boolean fatal)
      implements Reply {
    public ErrorReply {
      nonNegative("code", code);
      Objects.requireNonNull(message, "message");
    }

    @Override
    public MessageType type() {
      return MessageType.ERROR;
    }
  }

  /** Liveness probe; the receiver answers HEARTBEAT_ACK. */
  public record Heartbeat(@Opt Long running) implements Payload {
    public Heartbeat {
      nonNegative("running", running);
    }

    @Override
    public MessageType type() {
      return MessageType.HEARTBEAT;
    }
  }

  /** Answers a HEARTBEAT. */
  public record HeartbeatAck(String replyTo) implements Reply {
    public HeartbeatAck {
      Objects.requireNonNull(replyTo, "replyTo");
    }

    @Override
    public MessageType type() {
      return MessageType.HEARTBEAT_ACK;
    }
  }

  /**
   * Build {@code targets}: from a client to the master (a build), or from the master to a worker
   * ({@code attempt} set: one attempt of one target).
   */
  public record BuildRequest(
      String buildId,
      List<String> targets,
      @Opt Long attempt,
      @Opt Boolean keepGoing,
      @Opt Boolean force,
      @Opt Map<String, String> env,
      @Opt Long timeoutMs)
      implements Payload {
    public BuildRequest {
      nonEmpty("build_id", buildId);
      Objects.requireNonNull(targets, "targets");
      targets = copy(targets);
      nonEmpty("targets", targets);
      positive("attempt", attempt);
      env = copy(env);
      positive("timeout_ms", timeoutMs);
    }

    @Override
    public MessageType type() {
      return MessageType.BUILD_REQUEST;
    }
  }

  /** The build (or target attempt) of a BUILD_REQUEST has started. */
  public record BuildStarted(
      String replyTo,
      String buildId,
      @Opt String target,
      @Opt Long attempt,
      @Opt String workerId)
      implements Reply {
    public BuildStarted {
      Objects.requireNonNull(replyTo, "replyTo");
      nonEmpty("build_id", buildId);
      positive("attempt", attempt);
    }

    @Override
    public MessageType type() {
      return MessageType.BUILD_STARTED;
    }
  }

  /** Progress of a build: {@code completed} of {@code total} targets are done. */
  public record BuildProgress(
      String buildId,
      long completed,
      long total,
      @Opt String target,
      @Opt String phase,
      @Opt String message,
      @Opt String stream)
      implements Payload {
    private static final List<String> STREAM_VALUES = List.of("stdout", "stderr");

    public BuildProgress {
      nonEmpty("build_id", buildId);
      nonNegative("completed", completed);
      nonNegative("total", total);
      oneOf("stream", stream, STREAM_VALUES);
    }

    /** Progress without a log stream (the 1.0 form). */
    public BuildProgress(
        String buildId,
        long completed,
        long total,
        String target,
        String phase,
        String message) {
      this(buildId, completed, total, target, phase, message, null);
    }

    @Override
    public MessageType type() {
      return MessageType.BUILD_PROGRESS;
    }
  }

  /** A build (or, with {@code target}, one target attempt) succeeded. */
  public record BuildCompleted(
      String buildId,
      @Opt String target,
      @Opt Long attempt,
      long durationMs,
      @Opt List<Output> outputs,
      @Opt Long cacheHits,
      @Opt Long executed)
      implements Payload {
    public BuildCompleted {
      nonEmpty("build_id", buildId);
      positive("attempt", attempt);
      nonNegative("duration_ms", durationMs);
      outputs = copy(outputs);
      nonNegative("cache_hits", cacheHits);
      nonNegative("executed", executed);
    }

    @Override
    public MessageType type() {
      return MessageType.BUILD_COMPLETED;
    }
  }

  /** A build (or, with {@code target}, one target attempt) failed. */
  public record BuildFailed(
      String buildId,
      @Opt String target,
      @Opt Long attempt,
      String error,
      @Opt Long exitCode,
      @Opt Boolean retryable,
      @Opt List<String> failedTargets)
      implements Payload {
    public BuildFailed {
      nonEmpty("build_id", buildId);
      positive("attempt", attempt);
      Objects.requireNonNull(error, "error");
      failedTargets = copy(failedTargets);
    }

    @Override
    public MessageType type() {
      return MessageType.BUILD_FAILED;
    }
  }

  /** Cancel a whole build; answered by ACK (or ERROR NOT_FOUND). */
  public record BuildCancel(String buildId, @Opt String reason) implements Payload {
    public BuildCancel {
      nonEmpty("build_id", buildId);
    }

    @Override
    public MessageType type() {
      return MessageType.BUILD_CANCEL;
    }
  }

  /** Cancel one attempt of one target; answered by ACK (or ERROR NOT_FOUND). */
  public record TargetCancel(
      String buildId,
      String target,
      long attempt,
      @Opt String reason)
      implements Payload {
    public TargetCancel {
      nonEmpty("build_id", buildId);
      nonEmpty("target", target);
      positive("attempt", attempt);
    }

    @Override
    public MessageType type() {
      return MessageType.TARGET_CANCEL;
    }
  }

  /**
   * Run one attempt of one target (master -> worker). The worker answers BUILD_STARTED (reply),
   * streams BUILD_PROGRESS log lines and ends with BUILD_COMPLETED or BUILD_FAILED, all carrying
   * {@code target} and {@code attempt}; or answers ERROR BUSY when it has no free slot. {@code
   * inputs} are blobs to materialize at their paths; {@code outputs} are the declared output paths
   * (files or directories) to collect. Paths are relative and stay inside the sandbox.
   */
  public record TargetRun(
      String buildId,
      String target,
      long attempt,
      List<String> argv,
      String cwd,
      Map<String, String> env,
      List<Output> inputs,
      List<String> outputs,
      @Opt Long timeoutMs,
      @Opt Long outputCap,
      @Opt String bundler,
      @Opt List<String> entrypoints,
      @Opt String outDir,
      @Opt Map<String, String> bundlerOptions,
      @Opt Boolean keepOutputs)
      implements Payload {
    public TargetRun {
      nonEmpty("build_id", buildId);
      nonEmpty("target", target);
      positive("attempt", attempt);
      Objects.requireNonNull(argv, "argv");
      argv = copy(argv);
      nonEmpty("argv", argv);
      Objects.requireNonNull(cwd, "cwd");
      Objects.requireNonNull(env, "env");
      env = copy(env);
      Objects.requireNonNull(inputs, "inputs");
      inputs = copy(inputs);
      Objects.requireNonNull(outputs, "outputs");
      outputs = copy(outputs);
      positive("timeout_ms", timeoutMs);
      positive("output_cap", outputCap);
      if (bundler != null) {
        nonEmpty("bundler", bundler);
      }
      entrypoints = copy(entrypoints);
      bundlerOptions = copy(bundlerOptions);
      bundlerFields(bundler, entrypoints, outDir, bundlerOptions);
    }

    /** A command attempt: run {@code argv}. */
    public TargetRun(
        String buildId,
        String target,
        long attempt,
        List<String> argv,
        String cwd,
        Map<String, String> env,
        List<Output> inputs,
        List<String> outputs,
        Long timeoutMs,
        Long outputCap) {
      this(buildId, target, attempt, argv, cwd, env, inputs, outputs, timeoutMs, outputCap, null,
          null, null, null, null);
    }

    /** Any attempt, outputs uploaded to the master (no {@code keep_outputs}). */
    public TargetRun(
        String buildId,
        String target,
        long attempt,
        List<String> argv,
        String cwd,
        Map<String, String> env,
        List<Output> inputs,
        List<String> outputs,
        Long timeoutMs,
        Long outputCap,
        String bundler,
        List<String> entrypoints,
        String outDir,
        Map<String, String> bundlerOptions) {
      this(buildId, target, attempt, argv, cwd, env, inputs, outputs, timeoutMs, outputCap, bundler,
          entrypoints, outDir, bundlerOptions, null);
    }

    /**
     * This attempt with {@code keep_outputs: true}: the worker keeps the output blobs in its own
     * store instead of uploading them, and serves them to the master by BLOB_GET (since 1.3, only
     * to a worker advertising {@code keep-outputs}).
     */
    public TargetRun keepingOutputs() {
      return new TargetRun(buildId, target, attempt, argv, cwd, env, inputs, outputs, timeoutMs,
          outputCap, bundler, entrypoints, outDir, bundlerOptions, Boolean.TRUE);
    }

    /** Whether the worker should keep the outputs instead of uploading them. */
    public boolean keeps() {
      return Boolean.TRUE.equals(keepOutputs);
    }

    @Override
    public MessageType type() {
      return MessageType.TARGET_RUN;
    }
  }

  /** Read one key; answered by STATE_RESPONSE. */
  public record StateGet(String key) implements Payload {
    public StateGet {
      nonEmpty("key", key);
    }

    @Override
    public MessageType type() {
      return MessageType.STATE_GET;
    }
  }

  /**
   * Write one key; answered by STATE_RESPONSE ({@code found}: whether it existed before). Since 1.1
   * the write may be conditional: {@code if_absent} (store only if the key is absent) or {@code
   * expected} (compare-and-set: store only if the current value is these bytes; the new value never
   * expires); the reply's {@code applied} says whether it was stored.
   */
  public record StateSet(
      String key,
      byte[] value,
      @Opt Long ttlMs,
      @Opt Boolean ifAbsent,
      @Opt byte[] expected)
      implements Payload {
    public StateSet {
      nonEmpty("key", key);
      Objects.requireNonNull(value, "value");
      positive("ttl_ms", ttlMs);
      conditionalWrite(ttlMs, ifAbsent, expected);
    }

    /** An unconditional write. */
    public StateSet(String key, byte[] value, Long ttlMs) {
      this(key, value, ttlMs, null, null);
    }

    @Override
    public MessageType type() {
      return MessageType.STATE_SET;
    }
  }

  /** Delete one key; answered by STATE_RESPONSE ({@code found}: whether it existed). */
  public record StateDelete(String key) implements Payload {
    public StateDelete {
      nonEmpty("key", key);
    }

    @Override
    public MessageType type() {
      return MessageType.STATE_DELETE;
    }
  }

  /**
   * Answers STATE_GET/SET/DELETE/KEYS/INCREMENT; {@code value} only for a found STATE_GET, {@code
   * applied} for a conditional STATE_SET, {@code number} for STATE_INCREMENT, {@code keys} for
   * STATE_KEYS.
   */
  public record StateResponse(
      String replyTo,
      boolean found,
      @Opt byte[] value,
      @Opt Boolean applied,
      @Opt Long number,
      @Opt List<String> keys)
      implements Reply {
    public StateResponse {
      Objects.requireNonNull(replyTo, "replyTo");
      keys = copy(keys);
    }

    /** The 1.0 form: found, and the value of a found STATE_GET. */
    public StateResponse(String replyTo, boolean found, byte[] value) {
      this(replyTo, found, value, null, null, null);
    }

    @Override
    public MessageType type() {
      return MessageType.STATE_RESPONSE;
    }
  }

  /** List the live keys starting with {@code prefix} (empty: all); answered by STATE_RESPONSE. */
  public record StateKeys(String prefix) implements Payload {
    public StateKeys {
      Objects.requireNonNull(prefix, "prefix");
    }

    @Override
    public MessageType type() {
      return MessageType.STATE_KEYS;
    }
  }

  /**
   * Add {@code delta} to the decimal integer under {@code key} (absent counts as 0); answered by
   * STATE_RESPONSE with the new value in {@code number}.
   */
  public record StateIncrement(String key, long delta) implements Payload {
    public StateIncrement {
      nonEmpty("key", key);
    }

    @Override
    public MessageType type() {
      return MessageType.STATE_INCREMENT;
    }
  }

  /** Acquire a named lock for {@code lease_ms}, waiting up to {@code wait_ms} (default 0). */
  public record LockAcquire(
      String name,
      String holder,
      long leaseMs,
      @Opt Long waitMs)
      implements Payload {
    public LockAcquire {
      nonEmpty("name", name);
      nonEmpty("holder", holder);
      positive("lease_ms", leaseMs);
      nonNegative("wait_ms", waitMs);
    }

    @Override
    public MessageType type() {
      return MessageType.LOCK_ACQUIRE;
    }
  }

  /** Release a lock held under {@code token} (since 1.1 naming its {@code holder}). */
  public record LockRelease(String name, String token, @Opt String holder) implements Payload {
    public LockRelease {
      nonEmpty("name", name);
      nonEmpty("token", token);
      if (holder != null) {
        nonEmpty("holder", holder);
      }
    }

    /** The 1.0 form, without the holder. */
    public LockRelease(String name, String token) {
      this(name, token, null);
    }

    @Override
    public MessageType type() {
      return MessageType.LOCK_RELEASE;
    }
  }

  /**
   * Answers LOCK_ACQUIRE/RENEW/RELEASE; since 1.1 a grant carries {@code expires_at}, when the
   * lease lapses on the master's state clock (epoch ms).
   */
  public record LockResponse(
      String replyTo,
      boolean granted,
      @Opt String token,
      @Opt String holder,
      @Opt Long leaseMs,
      @Opt Long expiresAt)
      implements Reply {
    public LockResponse {
      Objects.requireNonNull(replyTo, "replyTo");
      positive("lease_ms", leaseMs);
    }

    /** The 1.0 form, without the expiry. */
    public LockResponse(
        String replyTo,
        boolean granted,
        String token,
        String holder,
        Long leaseMs) {
      this(replyTo, granted, token, holder, leaseMs, null);
    }

    @Override
    public MessageType type() {
      return MessageType.LOCK_RESPONSE;
    }
  }

  /** Extend the lease {@code holder} holds under {@code token} to {@code lease_ms} from now. */
  public record LockRenew(
      String name,
      String holder,
      String token,
      long leaseMs)
      implements Payload {
    public LockRenew {
      nonEmpty("name", name);
      nonEmpty("holder", holder);
      nonEmpty("token", token);
      positive("lease_ms", leaseMs);
    }

    @Override
    public MessageType type() {
      return MessageType.LOCK_RENEW;
    }
  }

  /** Claim CPU slots and memory under {@code claim_id}; answered by RESOURCE_STATUS. */
  public record ResourceClaim(String claimId, long cpuSlots, long memoryMb) implements Payload {
    public ResourceClaim {
      nonEmpty("claim_id", claimId);
      nonNegative("cpu_slots", cpuSlots);
      nonNegative("memory_mb", memoryMb);
    }

    @Override
    public MessageType type() {
      return MessageType.RESOURCE_CLAIM;
    }
  }

  /** Release a claim; answered by RESOURCE_STATUS. */
  public record ResourceRelease(String claimId) implements Payload {
    public ResourceRelease {
      nonEmpty("claim_id", claimId);
    }

    @Override
    public MessageType type() {
      return MessageType.RESOURCE_RELEASE;
    }
  }

  /** Free and total resources; a reply ({@code reply_to} set) or an unsolicited update. */
  public record ResourceStatus(
      @Opt String replyTo,
      @Opt String claimId,
      boolean granted,
      long cpuSlotsFree,
      long memoryMbFree,
      long cpuSlotsTotal,
      long memoryMbTotal)
      implements Reply {
    public ResourceStatus {
      nonNegative("cpu_slots_free", cpuSlotsFree);
      nonNegative("memory_mb_free", memoryMbFree);
      nonNegative("cpu_slots_total", cpuSlotsTotal);
      nonNegative("memory_mb_total", memoryMbTotal);
    }

    @Override
    public MessageType type() {
      return MessageType.RESOURCE_STATUS;
    }
  }

  /** Which of these digests does the receiver lack? Answered by BLOB_HAS_RESPONSE. */
  public record BlobHas(List<String> digests) implements Payload {
    public BlobHas {
      Objects.requireNonNull(digests, "digests");
      digests = copy(digests);
    }

    @Override
    public MessageType type() {
      return MessageType.BLOB_HAS;
    }
  }

  /** The subset of BLOB_HAS's digests the receiver lacks, in the same order. */
  public record BlobHasResponse(String replyTo, List<String> missing) implements Reply {
    public BlobHasResponse {
      Objects.requireNonNull(replyTo, "replyTo");
      Objects.requireNonNull(missing, "missing");
      missing = copy(missing);
    }

    @Override
    public MessageType type() {
      return MessageType.BLOB_HAS_RESPONSE;
    }
  }

  /**
   * One chunk of an upload. Chunks of one {@code transfer_id} are sent in order, each at the {@code
   * offset} where the previous ended; the last one carries the whole blob's digest and size, and
   * only it is answered (BLOB_PUT_RESPONSE or ERROR).
   */
  public record BlobPut(
      String transferId,
      long offset,
      byte[] data,
      boolean last,
      @Opt String digest,
      @Opt Long size)
      implements Payload {
    public BlobPut {
      nonEmpty("transfer_id", transferId);
      nonNegative("offset", offset);
      Objects.requireNonNull(data, "data");
      maxLength("data", data, MAX_CHUNK_BYTES);
      lastChunk(offset, data, last, digest, size);
    }

    @Override
    public MessageType type() {
      return MessageType.BLOB_PUT;
    }
  }

  /** Answers the last BLOB_PUT chunk: {@code stored} is false if the blob was already present. */
  public record BlobPutResponse(String replyTo, String digest, boolean stored) implements Reply {
    public BlobPutResponse {
      Objects.requireNonNull(replyTo, "replyTo");
      nonEmpty("digest", digest);
    }

    @Override
    public MessageType type() {
      return MessageType.BLOB_PUT_RESPONSE;
    }
  }

  /** Download a blob from {@code offset} (default 0); answered by BLOB_CHUNKs or ERROR. */
  public record BlobGet(String digest, @Opt Long offset, @Opt Long maxChunk) implements Payload {
    public BlobGet {
      nonEmpty("digest", digest);
      nonNegative("offset", offset);
      range("max_chunk", maxChunk, 1, MAX_CHUNK_BYTES);
    }

    @Override
    public MessageType type() {
      return MessageType.BLOB_GET;
    }
  }

  /** One chunk of a download, in order; the last carries the digest and size. */
  public record BlobChunk(
      String replyTo,
      long offset,
      byte[] data,
      boolean last,
      @Opt String digest,
      @Opt Long size)
      implements Reply {
    public BlobChunk {
      Objects.requireNonNull(replyTo, "replyTo");
      nonNegative("offset", offset);
      Objects.requireNonNull(data, "data");
      maxLength("data", data, MAX_CHUNK_BYTES);
      lastChunk(offset, data, last, digest, size);
    }

    @Override
    public MessageType type() {
      return MessageType.BLOB_CHUNK;
    }
  }

  /**
   * Subscribe to events of one build (or all); answered by ACK. With {@code since} (1.3), a
   * re-attach to one build: EVENT {@code seq} are the build's event numbers and the stream replays
   * those above {@code since}, then ends with the build's final message.
   */
  public record Subscribe(
      String subscriptionId,
      @Opt String buildId,
      @Opt Boolean logs,
      @Opt Long since)
      implements Payload {
    public Subscribe {
      nonEmpty("subscription_id", subscriptionId);
      nonNegative("since", since);
      sinceNeedsBuild(buildId, since);
    }

    /** Without {@code since} (the 1.2 form). */
    public Subscribe(String subscriptionId, String buildId, Boolean logs) {
      this(subscriptionId, buildId, logs, null);
    }

    @Override
    public MessageType type() {
      return MessageType.SUBSCRIBE;
    }
  }

  /** End a subscription; answered by ACK. */
  public record Unsubscribe(String subscriptionId) implements Payload {
    public Unsubscribe {
      nonEmpty("subscription_id", subscriptionId);
    }

    @Override
    public MessageType type() {
      return MessageType.UNSUBSCRIBE;
    }
  }

  /** One lifecycle event or log line of a subscription, numbered by {@code seq} from 1. */
  public record Event(
      String subscriptionId,
      long seq,
      String kind,
      String buildId,
      long at,
      @Opt String target,
      @Opt String status,
      @Opt String stream,
      @Opt String line)
      implements Payload {
    private static final List<String> KIND_VALUES = List.of("build_started", "build_finished",
        "target_started", "target_finished", "log");
    /** The {@code kind} values of an EVENT. */
    public static final Set<String> KINDS = Set.copyOf(KIND_VALUES);
    private static final List<String> STREAM_VALUES = List.of("stdout", "stderr");

    public Event {
      nonEmpty("subscription_id", subscriptionId);
      positive("seq", seq);
      Objects.requireNonNull(kind, "kind");
      oneOf("kind", kind, KIND_VALUES);
      nonEmpty("build_id", buildId);
      logLine(kind, stream, line);
      oneOf("stream", stream, STREAM_VALUES);
    }

    @Override
    public MessageType type() {
      return MessageType.EVENT;
    }
  }
}
