package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.graph.Target;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.internal.master.Dispatcher;
import dev.buildnet.worker.Worker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deferred materialization on a master ({@code BuildNet.Builder.deferOutputs}): which outputs
 * workers kept instead of uploading them (TARGET_RUN {@code keep_outputs}), and fetching them into
 * the master's store when they are needed.
 *
 * <p>A kept action is never recorded in the action cache: a cache record must name blobs the store
 * holds (other masters sharing the cache, gc and {@code ActionCache.lookup} rely on it). It is
 * remembered in memory and, so that a restarted master (Java or Python) still knows it, in the
 * state backend under {@code deferred/<key>} (which worker holds it, and its manifest: the record
 * both masters write and read, docs/PROTOCOL.md, "The kept-outputs record"). Once its blobs are fetched,
 * the action cache record is written as usual and this one deleted. After a restart, a kept action
 * whose worker has reconnected is a hit fetched when needed; one whose worker is not connected
 * runs again, and the log says why.
 */
final class DeferredOutputs {
  private static final Logger LOG = LoggerFactory.getLogger(DeferredOutputs.class);
  /** Bound on remembered actions; past it the oldest knowledge is dropped (they run again). */
  private static final int MAX_REMEMBERED = 100_000;
  /** State backend key prefix of the records that outlive this master. */
  static final String PREFIX = "deferred/";
  private static final int VERSION = 1;
  /** How long a worker may take to confirm it still holds a kept blob (it hashes it first). */
  private static final java.time.Duration PROBE_TIMEOUT = java.time.Duration.ofMinutes(2);

  /** What {@link #PREFIX} records hold (docs/PROTOCOL.md, "The kept-outputs record"). */
  record Stored(int version, String worker, ActionManifest manifest) {}

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

  /**
   * The outputs of one action as a worker kept them: {@code workerId} holds every blob of
   * {@code manifest} that the master's store lacks. {@code materialized}: restored into the
   * workspace (for a local consumer).
   */
  static final class Kept {
    final String workerId;
    final ActionManifest manifest;
    volatile boolean materialized;

    Kept(String workerId, ActionManifest manifest) {
      this.workerId = workerId;
      this.manifest = manifest;
    }
  }

  private final Dispatcher dispatcher;
  private final DiskBlobStore store;
  private final StateBackend state;
  private final Map<Digest, Kept> byKey = new ConcurrentHashMap<>();

  DeferredOutputs(Dispatcher dispatcher, DiskBlobStore store, StateBackend state) {
    this.dispatcher = dispatcher;
    this.store = store;
    this.state = state;
  }

  /**
   * Whether {@code target}'s outputs may stay on the worker that runs it on {@code placement}:
   * that worker supports it, the build did not ask for the target, and no target of the build
   * declares inputs reading them from the workspace.
   */
  boolean mayKeep(BuildRun run, Target target, Dispatcher.Placement placement) {
    return placement.offers(Worker.Builder.KEEP_OUTPUTS) && mayDefer(run, target);
  }

  /** Whether {@code target}'s outputs need not be in this master's workspace for {@code run}. */
  static boolean mayDefer(BuildRun run, Target target) {
    return !run.requested.contains(target.name()) && !run.outputsReadAsInputs(target);
  }

  /**
   * Remembers that {@code kept.workerId} holds the outputs of action {@code key}, in memory and in
   * the state backend (a failure to write it there only costs a re-run after a restart).
   */
  void remember(Digest key, Kept kept) {
    if (byKey.size() >= MAX_REMEMBERED) {
      byKey.clear(); // the records are still in the state backend
    }
    byKey.put(key, kept);
    try {
      state.set(PREFIX + key, encode(kept.workerId, kept.manifest));
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot record that worker '{}' keeps the outputs of '{}' ({}); after a restart of"
          + " this master it runs again", kept.workerId, kept.manifest.target(), e.toString());
    }
  }

  /**
   * What a worker kept for action {@code key} (remembered by this master, or by an earlier run of
   * it: the state backend), if that worker is connected now (it may still hold the blobs; a
   * fetch tells for sure), else null. When the worker is not connected the record is dropped
   * (the target runs again) and {@code lost} gets a sentence saying why.
   */
  Kept lookup(Digest key, Consumer<String> lost) {
    Kept k = byKey.get(key);
    boolean earlier = false;
    if (k == null) {
      k = load(key).orElse(null);
      if (k == null) {
        return null;
      }
      earlier = true;
      if (byKey.size() < MAX_REMEMBERED) {
        byKey.putIfAbsent(key, k);
      }
    }
    if (!missing(k.manifest)) {
      return k;
    }
    String gone = !dispatcher.isConnected(k.workerId) ? "which is not connected"
        // A worker that reconnects under the same id may be a new process with an empty store:
        // asked once per record this master did not make itself (consumers placed on that worker
        // would otherwise fail on the missing inputs).
        : earlier && !holdsAll(k) ? "which no longer holds them"
        : null;
    if (gone == null) {
      return k;
    }
    byKey.remove(key, k);
    state.delete(PREFIX + key);
    String why = "its outputs were kept on worker '" + k.workerId + "'"
        + (earlier ? " (recorded before this master started)" : "") + ", " + gone;
    LOG.warn("'{}' runs again: {}", k.manifest.target(), why);
    lost.accept(why);
    return null;
  }

  /** Whether the worker that kept {@code k} still holds every blob of it the store lacks. */
  private boolean holdsAll(Kept k) {
    for (ActionManifest.Output o : k.manifest.outputs()) {
      if (!store.contains(o.parsedDigest(), o.size())
          && !dispatcher.holds(k.workerId, o.parsedDigest(), o.size(), PROBE_TIMEOUT)) {
        return false;
      }
    }
    return true;
  }

  /** The record of {@code key} in the state backend; an unreadable one is dropped. */
  private Optional<Kept> load(Digest key) {
    Optional<byte[]> raw = state.get(PREFIX + key);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(decode(raw.get()));
    } catch (IOException e) {
      LOG.warn("dropping kept-outputs record {}: {}", key, e.getMessage());
    }
    state.delete(PREFIX + key);
    return Optional.empty();
  }

  /** A record's bytes: compact UTF-8 JSON, fields in the documented order. */
  static byte[] encode(String worker, ActionManifest manifest) throws IOException {
    return JSON.writeValueAsBytes(new Stored(VERSION, worker, manifest));
  }

  /**
   * A record read back; an IOException says in one line why it cannot be used (not UTF-8 JSON
   * of the documented fields and types, or another version).
   */
  static Kept decode(byte[] raw) throws IOException {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(raw)).toString();
    } catch (CharacterCodingException e) {
      throw new IOException("it is not UTF-8");
    }
    if (text.startsWith("\uFEFF")) {
      throw new IOException("it starts with a byte order mark"); // Jackson would skip it
    }
    Stored s;
    try {
      s = JSON.readValue(text, Stored.class);
    } catch (IOException | RuntimeException e) {
      throw new IOException("unreadable: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (s == null || s.manifest() == null) {
      throw new IOException("unreadable: it is not an object with a manifest");
    }
    if (s.version() != VERSION || s.manifest().version() != ActionManifest.VERSION) {
      throw new IOException("of another version (" + s.version() + "/" + s.manifest().version()
          + ")");
    }
    if (s.worker() == null || s.worker().isEmpty()) {
      throw new IOException("it names no worker");
    }
    try {
      for (ActionManifest.Output o : s.manifest().outputs()) {
        if (o == null || o.path() == null || o.size() < 0) {
          throw new IOException("an output without a path or with a negative size");
        }
        o.parsedDigest();
      }
      for (String d : s.manifest().directories()) {
        Objects.requireNonNull(d, "a directory");
      }
      s.manifest().blobs(); // stdout and stderr: null or a digest
    } catch (RuntimeException e) {
      throw new IOException("unreadable: " + e.getMessage());
    }
    return new Kept(s.worker(), s.manifest());
  }

  /** Forgets action {@code key} (its record is in the action cache now, or it is lost). */
  void forget(Digest key) {
    byKey.remove(key);
    state.delete(PREFIX + key);
  }

  /** Whether the master's store lacks a blob of {@code m}'s outputs. */
  boolean missing(ActionManifest m) {
    for (ActionManifest.Output o : m.outputs()) {
      if (!store.contains(o.parsedDigest(), o.size())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Fetches every output blob of {@code k} the master's store lacks from the worker that kept it,
   * verified; false (logged) if that worker is gone or cannot serve one of them.
   */
  boolean fetch(Kept k) throws IOException {
    for (ActionManifest.Output o : k.manifest.outputs()) {
      Digest d = o.parsedDigest();
      if (store.contains(d, o.size())) {
        continue;
      }
      Path dir = Files.createDirectories(store.root().resolve("tmp"));
      Path tmp = dir.resolve("fetch-" + java.util.UUID.randomUUID() + ".blob");
      try {
        dispatcher.fetch(k.workerId, d, store.hashes(), tmp);
        try (InputStream in = Files.newInputStream(tmp)) {
          store.putVerified(in, d);
        }
      } catch (BlobException e) {
        if (e.reason() == BlobException.Reason.TRANSFER) {
          LOG.warn("cannot fetch output {} of '{}' from worker '{}': {}", o.path(),
              k.manifest.target(), k.workerId, e.getMessage());
        } else if (e.reason() == BlobException.Reason.DIGEST_MISMATCH) {
          LOG.warn("output {} of '{}' from worker '{}' does not match its digest: {}", o.path(),
              k.manifest.target(), k.workerId, e.getMessage());
        } else {
          throw e;
        }
        return false;
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    return true;
  }
}
