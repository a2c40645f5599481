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
import dev.buildnet.internal.cache.CacheKeyBuilder;
import dev.buildnet.internal.cache.FileDigester;
import dev.buildnet.internal.cache.KeyManifest;
import dev.buildnet.internal.graph.InputResolver;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.hash.FileDigestCache;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Computes target keys and keeps, per target, the last key manifest and whether it hit, so that
 * {@link BuildNet#explain} can say what changed. Records are written only when they change, so a
 * null build reads state but writes nothing.
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
  private final GeneratedPaths generated;
  /** What this instance last recorded per target, so an unchanged target skips the state read. */
  private final Map<String, String> lastSummary = new java.util.concurrent.ConcurrentHashMap<>();

  public KeyService(Path workspace, HashProvider hashes, FileDigestCache digests, StateBackend state,
      Map<String, String> hostEnvironment, Map<String, BundlerAdapter> bundlers,
      dev.buildnet.graph.BuildGraph graph) {
    this.generated = new GeneratedPaths(graph);
    this.workspace = workspace;
    this.digests = digests;
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
  public Computed compute(Target target, Map<String, Digest> dependencyKeys, InputResolver shared)
      throws InputException {
    try {
      InputResolver resolver = generated.readsGenerated(target) ? resolver() : shared;
      List<String> inputs = resolver.resolve(target);
      KeyManifest manifest = keys.manifest(target, inputs, dependencyKeys);
      return new Computed(manifest.key(), manifest, inputs.size());
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
    return target.commandEnvironment(hostEnvironment);
  }

  FileDigester digester() {
    return digests::digest;
  }

  /** Remembers this build's key of {@code target} and whether it hit, if that changed. */
  void recordOutcome(String target, Computed computed, boolean hit) {
    String key = computed.key().toString();
    String summary = key + (hit ? " hit" : " miss");
    if (summary.equals(lastSummary.get(target))) {
      return; // this instance already recorded exactly this: a repeat null build costs nothing
    }
    Optional<String> last = state.getString(SUMMARY + target);
    if (last.isPresent() && last.get().equals(summary)) {
      lastSummary.put(target, summary);
      return; // nothing new to explain: a null build reads one short record and writes nothing
    }
    Optional<Stored> previous = load(target);
    List<String> reasons = new ArrayList<>();
    String previousKey = null;
    if (previous.isEmpty()) {
      reasons.add("no earlier build of this target is recorded");
    } else if (!previous.get().key.equals(key)) {
      previousKey = previous.get().key;
      KeyManifest before = previous.get().manifest();
      reasons.addAll(before == null
          ? List.of("the previous key's details are unreadable") : computed.manifest().diff(before));
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
    root.put("manifest", computed.manifest().toJson());
    state.set(DETAIL + target, root.toString().getBytes(StandardCharsets.UTF_8));
    state.setString(SUMMARY + target, summary);
    lastSummary.put(target, summary);
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
      KeyManifest before = previous.get().manifest();
      return before == null
          ? List.of("the previous key's details are unreadable") : computed.manifest().diff(before);
    }
    return List.of("the key is unchanged since the previous build, but no result is cached for it");
  }

  public Explanation explain(String target) {
    Stored s = load(target).orElseThrow(() -> new IllegalStateException(
        "'" + target + "' has not been built in this workspace yet, so there is nothing to explain"));
    return new Explanation(target, s.key, s.previousKey, s.cached,
        s.cached ? List.of() : s.reasons);
  }

  private record Stored(String key, String previousKey, boolean cached, List<String> reasons,
      String manifestJson) {
    KeyManifest manifest() {
      try {
        return KeyManifest.fromJson(manifestJson);
      } catch (BuildNetException e) {
        return null;
      }
    }
  }

  private Optional<Stored> load(String target) {
    Optional<byte[]> raw = state.get(DETAIL + target);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(raw.get());
      List<String> reasons = new ArrayList<>();
      n.path("reasons").forEach(x -> reasons.add(x.asText()));
      return Optional.of(new Stored(n.get("key").asText(),
          n.hasNonNull("previousKey") ? n.get("previousKey").asText() : null,
          n.path("cached").asBoolean(), reasons, n.path("manifest").asText()));
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // unreadable: treated as never built, and overwritten next time
    }
  }

  public void close() {
    lastSummary.clear();
    digests.clear();
  }
}
