package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;
import dev.buildnet.Explanation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.CacheKeyBuilder;
import dev.buildnet.internal.cache.FileDigester;
import dev.buildnet.internal.cache.KeyManifest;
import dev.buildnet.internal.graph.InputResolver;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.hash.FileDigestCache;
import dev.buildnet.state.SqliteStateBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Computes target keys and keeps, per target, the last key manifest and whether it hit, so that
 * {@link BuildNet#explain} can say what changed. Records are written only when they change, so a
 * null build reads state but writes nothing (and nothing at all when this instance recorded the
 * previous build); those that change are written in batches ({@link #flush}).
 */
public final class KeyService {
  /** "<key> hit|miss" of the last build: all a null build needs to read. */
  private static final String SUMMARY = "target/";
  /** The last key's manifest and the reasons of the last miss, for explain. */
  private static final String DETAIL = "target-detail/";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path workspace;
  private final FileDigestCache digests;
  private final StateBackend state;
  private final Map<String, String> hostEnvironment;
  private final CacheKeyBuilder keys;
  private final HashProvider hashes;
  private final GeneratedPaths generated;
  private final KeyMemo memo;
  private final dev.buildnet.internal.graph.InputMemo inputMemo =
      new dev.buildnet.internal.graph.InputMemo();
  /** What this instance last recorded per target, so an unchanged target skips the state read. */
  private final Map<String, Recorded> lastSummary = new java.util.concurrent.ConcurrentHashMap<>();
  /** Records of {@link #recordOutcome} not written yet, by target (see {@link #flush}). */
  private final Map<String, Pending> pending = new java.util.concurrent.ConcurrentHashMap<>();
  private final Object flushing = new Object();
  /** Queued targets that make {@link #recordOutcome} write a batch before the build ends. */
  private static final int FLUSH_AT = 256;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeyService.class);

  /** One target's queued records: its detail for explain and its one-line summary. */
  private record Pending(byte[] detail, String summary) {}

  /**
   * A recorded summary and the computation it was for; {@code plainHit}: a hit after no dependency
   * ran, whose summary follows from the key alone, so the same computation hitting the same way
   * again needs no summary built to know that nothing is new.
   */
  record Recorded(String summary, Computed computed, boolean plainHit, long epoch) {}

  /**
   * Bumped whenever {@link #lastSummary} forgets entries (a failed write, {@link #close}): a
   * {@link TargetRecord}'s copy of a summary made before counts only while this is unchanged.
   */
  private volatile long recordedEpoch;

  public KeyService(Path workspace, HashProvider hashes, FileDigestCache digests, StateBackend state,
      Map<String, String> hostEnvironment, Map<String, BundlerAdapter> bundlers,
      dev.buildnet.graph.BuildGraph graph) {
    this.generated = new GeneratedPaths(graph);
    this.workspace = workspace;
    this.digests = digests;
    this.memo = new KeyMemo(workspace, digests);
    this.hashes = hashes;
    this.state = state;
    this.hostEnvironment = Map.copyOf(hostEnvironment);
    this.keys = CacheKeyBuilder.builder(workspace, hashes, digests::digest)
        .hostEnvironment(this.hostEnvironment)
        .bundlerVersions(name -> {
          BundlerAdapter a = bundlers.get(name);
          return a == null ? "unregistered" : a.version();
        })
        .build();
  }

  /** A target's key and what went into it. */
  public record Computed(Digest key, KeyManifest manifest, long filesChecked) {}

  /** A declared input is missing or unreadable: the target fails without running. */
  public static final class InputException extends Exception {
    private static final long serialVersionUID = 1L;

    InputException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Computes {@code target}'s key. Source inputs are resolved with the build's shared resolver (one
   * directory walk per build); inputs that overlap some target's declared outputs get a fresh
   * resolver, since a dependency may have just written them and a shared listing could be stale.
   */
  public Computed compute(Target target, Map<String, KeyManifest.Dependency> dependencyKeys,
      InputResolver shared) throws InputException {
    return compute(null, target, dependencyKeys, shared);
  }

  /**
   * {@link #compute(Target, Map, InputResolver)}, consulting and updating the target's {@code
   * record} in the build's plan (null: none) before the memos by name.
   */
  Computed compute(TargetRecord record, Target target,
      Map<String, KeyManifest.Dependency> dependencyKeys, InputResolver shared)
      throws InputException {
    try {
      // Inputs a dependency may have just written are resolved afresh, never from the memo.
      List<String> inputs = generated.readsGenerated(record, target) ? resolver().resolve(target)
          : inputMemo.resolve(target, shared, record == null ? null : record.inputs);
      Computed again = memo.reuse(record, target, inputs, dependencyKeys);
      if (again != null) {
        return again;
      }
      KeyManifest manifest = keys.manifestOf(target, inputs, dependencyKeys);
      Computed computed = new Computed(manifest.key(), manifest, inputs.size());
      memo.remember(record, target, inputs, dependencyKeys, computed);
      return computed;
    } catch (BuildNetException e) {
      throw new InputException(e.getMessage(), e);
    }
  }

  /** A resolver for one build, listing directories through the file state. */
  public InputResolver resolver() {
    return new InputResolver(workspace, digests.directories());
  }

  /** The environment the command sees: hashed and unhashed passthrough alike. */
  Map<String, String> environment(Target target) {
    if (target.envPassthrough().isEmpty() && target.envPassthroughUnhashed().isEmpty()) {
      // Nothing from the host: what commandEnvironment would copy into two new maps is exactly
      // the target's own (sorted, unmodifiable) variables.
      return target.environment();
    }
    return target.commandEnvironment(hostEnvironment);
  }

  /** The digest of a regular file (not a link), or null for anything else: for outputs. */
  FileDigester regularFiles() {
    return digests::digestIfRegularFile;
  }

  /** The file digests this service keys with (outputs are checked against the same). */
  FileDigestCache digests() {
    return digests;
  }

  /** The digest of {@code m}'s outputs, as dependents' keys cover them. */
  public Digest outputDigest(ActionManifest m) {
    if (m.outputs().isEmpty() && m.directories().isEmpty()) {
      Digest none = noOutputs;
      if (none == null) {
        noOutputs = none = KeyManifest.outputDigest(hashes, m); // the same for every such target
      }
      return none;
    }
    return KeyManifest.outputDigest(hashes, m);
  }

  /** {@link #outputDigest} of a target without outputs; made on first use (a benign race). */
  private volatile Digest noOutputs;

  /**
   * {@link #outputDigest(ActionManifest)} of the manifest a cache hit of {@code target} served,
   * remembered for that very instance: the action cache serves a null build the manifest object
   * it served the last one, and a manifest never changes, so the digest is computed once per
   * result rather than once per hit. One entry per target.
   */
  Digest outputDigestOfHit(TargetRecord record, String target, ActionManifest m) {
    OutputMemo memo = record == null ? null : record.hitOutputs;
    if (memo == null || memo.manifest() != m) {
      memo = hitOutputs.get(target);
    }
    if (memo != null && memo.manifest() == m) {
      if (record != null) {
        record.hitOutputs = memo;
      }
      return memo.digest();
    }
    Digest d = outputDigest(m);
    memo = new OutputMemo(m, d);
    hitOutputs.put(target, memo);
    if (record != null) {
      record.hitOutputs = memo;
    }
    return d;
  }

  /** A manifest's output digest: a pure function of it (and the hash), so valid anywhere. */
  record OutputMemo(ActionManifest manifest, Digest digest) {}

  private final Map<String, OutputMemo> hitOutputs =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Remembers this build's key of {@code target} and whether it hit, if that changed. {@code
   * ranDependencies}: its dependencies that ran in this build; a hit after one of them ran is an
   * early cutoff, which {@code explain} reports.
   */
  void recordOutcome(TargetRecord record, String target, Computed computed, boolean hit,
      List<String> ranDependencies) {
    boolean plainHit = hit && ranDependencies.isEmpty();
    long epoch = recordedEpoch;
    Recorded recorded = record == null ? null : record.recorded;
    if (recorded == null || recorded.epoch() != epoch) {
      recorded = lastSummary.get(target);
      if (record != null && recorded != null) {
        // Read after the epoch: it was in the map at this epoch, so the copy counts while it lasts.
        record.recorded = recorded.epoch() == epoch ? recorded
            : new Recorded(recorded.summary(), recorded.computed(), recorded.plainHit(), epoch);
      }
    }
    if (plainHit && recorded != null && recorded.plainHit() && recorded.computed() == computed) {
      return; // the key reused (KeyMemo) and hit again as plainly: exactly what was recorded
    }
    String key = computed.key().toString();
    // A hit after a dependency re-ran is recorded as such (so explain can say why it still hit),
    // and the next plain hit records that no dependency ran any more: one write each, no more.
    String summary = key + (hit ? " hit" : " miss")
        + (hit && !ranDependencies.isEmpty() ? " after " + String.join(",", ranDependencies) : "");
    if (recorded != null && summary.equals(recorded.summary())) {
      return; // this instance already recorded exactly this: a repeat null build costs nothing
    }
    Optional<String> last = state.getString(SUMMARY + target);
    if (last.isPresent() && last.get().equals(summary)) {
      remember(record, target, new Recorded(summary, computed, plainHit, epoch));
      return; // nothing new to explain: a null build reads one short record and writes nothing
    }
    Optional<Stored> previous = load(target);
    List<String> reasons = new ArrayList<>();
    String previousKey = null;
    if (previous.isEmpty()) {
      reasons.add("no earlier build of this target is recorded");
    } else if (!previous.get().key.equals(key)) {
      previousKey = previous.get().key;
      reasons.addAll(reasonsAgainst(previous.get(), computed));
    } else {
      previousKey = previous.get().previousKey;
      reasons.addAll(previous.get().reasons);
      if (!hit) {
        reasons.add("the key is unchanged since the previous build, but no result was cached for it"
            + " (the previous run failed or was not cacheable, or its outputs were evicted or corrupt)");
      }
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("key", key);
    if (previousKey != null) {
      root.put("previousKey", previousKey);
    }
    root.put("cached", hit);
    ArrayNode r = root.putArray("reasons");
    reasons.forEach(r::add);
    if (hit && !ranDependencies.isEmpty()) {
      ArrayNode notes = root.putArray("notes");
      for (String d : ranDependencies) {
        notes.add(computed.manifest().keyedByKey(d)
            ? "dependency " + d + " re-ran but its key is unchanged"
            : "dependency " + d + " re-ran but its outputs are unchanged");
      }
    }
    root.put("manifest", computed.manifest().toJson());
    pending.put(target, new Pending(root.toString().getBytes(StandardCharsets.UTF_8), summary));
    remember(record, target, new Recorded(summary, computed, plainHit, epoch));
    if (pending.size() >= FLUSH_AT) {
      flush();
    }
  }

  private void remember(TargetRecord record, String target, Recorded recorded) {
    lastSummary.put(target, recorded);
    if (record != null) {
      record.recorded = recorded;
    }
  }

  /**
   * Writes the records of {@link #recordOutcome} not yet written, in one transaction where the
   * backend offers one ({@link SqliteStateBackend#setAll}): the engine calls it when a build ends,
   * and it runs by itself every {@value #FLUSH_AT} targets. A record is queued only once what it
   * says happened (a hit was restored, a miss was decided), so a crash loses at most records, which
   * the next build writes again, and never leaves one claiming a hit that did not happen. A target's
   * detail and summary are written together, the detail first. A failure to write them (a full
   * disk) is logged, not fatal: they only serve {@code explain}, and the next build retries.
   */
  public void flush() {
    synchronized (flushing) { // one batch at a time, so a later record never loses to an earlier
      if (pending.isEmpty()) {
        return;
      }
      Map<String, byte[]> rows = new LinkedHashMap<>();
      List<String> targets = new ArrayList<>();
      for (String target : new ArrayList<>(pending.keySet())) {
        Pending p = pending.remove(target);
        if (p != null) {
          targets.add(target);
          rows.put(DETAIL + target, p.detail());
          rows.put(SUMMARY + target, p.summary().getBytes(StandardCharsets.UTF_8));
        }
      }
      try {
        if (state instanceof SqliteStateBackend sqlite) {
          sqlite.setAll(rows);
        } else {
          rows.forEach(state::set);
        }
      } catch (RuntimeException e) {
        targets.forEach(lastSummary::remove); // not recorded after all: the next build writes them
        recordedEpoch++; // under 'flushing'; and records' copies of them no longer count
        LOG.warn("cannot record the explain details of {} targets: {}", targets.size(),
            e.getMessage());
      }
    }
  }

  /**
   * Why a build now would miss with {@code computed}, against the last recorded key of {@code
   * target}; reads state only (a dry run writes nothing).
   */
  public List<String> missReasons(String target, Computed computed) {
    Optional<Stored> previous = load(target);
    if (previous.isEmpty()) {
      return List.of("no earlier build of this target is recorded");
    }
    if (!previous.get().key.equals(computed.key().toString())) {
      return reasonsAgainst(previous.get(), computed);
    }
    return List.of("the key is unchanged since the previous build, but no result is cached for it");
  }

  /** Why {@code computed} differs from the stored previous key. */
  private static List<String> reasonsAgainst(Stored previous, Computed computed) {
    KeyManifest before = previous.manifest();
    if (before != null) {
      return computed.manifest().diff(before);
    }
    int version = previous.manifestVersion();
    if (version > 0 && version != KeyManifest.FORMAT_VERSION) {
      // Keys of another format never equal this one's: earlier results are misses, never wrong
      // hits, and a component diff across formats would only confuse.
      return List.of("the cache key format changed (version " + version + " -> "
          + KeyManifest.FORMAT_VERSION + "), so results cached before it are not reused");
    }
    return List.of("the previous key's details are unreadable");
  }

  public Explanation explain(String target) {
    Stored s = load(target).orElseThrow(() -> new IllegalStateException(
        "'" + target + "' has not been built in this workspace yet, so there is nothing to explain"));
    return new Explanation(target, s.key, s.previousKey, s.cached,
        s.cached ? s.notes : s.reasons);
  }

  /** {@code notes}: for a hit, why it hit although a dependency re-ran (early cutoff). */
  private record Stored(String key, String previousKey, boolean cached, List<String> reasons,
      List<String> notes, String manifestJson) {
    KeyManifest manifest() {
      try {
        return KeyManifest.fromJson(manifestJson);
      } catch (BuildNetException e) {
        return null;
      }
    }

    /** The stored manifest's format version, or -1 if it has none readable. */
    int manifestVersion() {
      try {
        JsonNode v = JSON.readTree(manifestJson).get("v");
        return v != null && v.canConvertToInt() ? v.asInt() : -1;
      } catch (IOException | RuntimeException e) {
        return -1;
      }
    }
  }

  private Optional<Stored> load(String target) {
    Pending queued = pending.get(target);
    Optional<byte[]> raw = queued != null ? Optional.of(queued.detail()) : state.get(DETAIL + target);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(raw.get());
      List<String> reasons = new ArrayList<>();
      n.path("reasons").forEach(x -> reasons.add(x.asText()));
      List<String> notes = new ArrayList<>();
      n.path("notes").forEach(x -> notes.add(x.asText()));
      return Optional.of(new Stored(n.get("key").asText(),
          n.hasNonNull("previousKey") ? n.get("previousKey").asText() : null,
          n.path("cached").asBoolean(), reasons, notes, n.path("manifest").asText()));
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // unreadable: treated as never built, and overwritten next time
    }
  }

  public void close() {
    flush();
    synchronized (flushing) {
      recordedEpoch++;
    }
    lastSummary.clear();
    hitOutputs.clear();
    memo.clear();
    inputMemo.clear();
    digests.clear();
  }
}
