package dev.buildnet.internal.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Everything a target's cache key was computed from, component by component, with the key
 * itself. Store it next to a cached result ({@link #toJson()}); when a later build misses, {@link
 * #diff(KeyManifest)} against the stored one says why, e.g. {@code input src/A.java changed:
 * xxh64:… -> xxh64:…}.
 *
 * <p>Environment values appear only as digests, so a manifest can be stored without leaking
 * secrets passed through the environment (a low-entropy secret can still be guessed from its
 * digest; do not pass such secrets through the environment of a cached target).
 *
 * <p>Immutable and safe to share between threads.
 *
 * @since 0.1
 */
public final class KeyManifest {
  /**
   * The version of the key encoding and of the manifest's JSON form. 2: a dependency that declares
   * outputs is keyed by the digest of its outputs (early cutoff), not by its key.
   */
  public static final int FORMAT_VERSION = 2;

  // A configured JsonMapper is immutable and thread-safe.
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final int formatVersion;
  private final Digest key;
  private final List<String> argv;
  private final String workingDirectory;
  private final SortedMap<String, Digest> environment;
  private final SortedMap<String, Digest> inputs;
  private final SortedMap<String, Digest> dependencies;
  private final SortedMap<String, Digest> dependencyKeys;
  private final List<String> outputs;
  private final BundlerKey bundler;
  private final Platform platform;

  /**
   * {@code owned}: the maps were made for this manifest and nobody else holds them, so a {@link
   * TreeMap} in natural order is wrapped rather than copied (a null build keys every target).
   */
  private KeyManifest(
      int formatVersion,
      Digest key,
      List<String> argv,
      String workingDirectory,
      Map<String, Digest> environment,
      Map<String, Digest> inputs,
      Map<String, Digest> dependencies,
      Map<String, Digest> dependencyKeys,
      List<String> outputs,
      BundlerKey bundler,
      Platform platform,
      boolean owned) {
    if (!dependencies.keySet().equals(dependencyKeys.keySet())) {
      throw new IllegalArgumentException("dependency keys " + dependencyKeys.keySet()
          + " do not name the dependencies " + dependencies.keySet());
    }
    this.formatVersion = formatVersion;
    this.key = key;
    this.argv = List.copyOf(argv);
    this.workingDirectory = Objects.requireNonNull(workingDirectory, "workingDirectory");
    this.environment = sorted(environment, owned);
    this.inputs = sorted(inputs, owned);
    this.dependencies = sorted(dependencies, owned);
    this.dependencyKeys = sorted(dependencyKeys, owned);
    this.outputs = List.copyOf(outputs);
    this.bundler = bundler;
    this.platform = Objects.requireNonNull(platform, "platform");
  }

  private static SortedMap<String, Digest> sorted(Map<String, Digest> map, boolean owned) {
    if (owned && map instanceof TreeMap<String, Digest> tree && tree.comparator() == null) {
      return Collections.unmodifiableSortedMap(tree);
    }
    return Collections.unmodifiableSortedMap(new TreeMap<>(map));
  }

  /**
   * A manifest of the given components, keyed with {@code hashes}. It takes {@code environment}
   * and {@code inputs} over (the caller made them for it and must not change them).
   */
  static KeyManifest compute(
      HashProvider hashes,
      List<String> argv,
      String workingDirectory,
      Map<String, Digest> environment,
      Map<String, Digest> inputs,
      Map<String, Dependency> dependencies,
      List<String> outputs,
      BundlerKey bundler,
      Platform platform) {
    SortedMap<String, Digest> keyed = new TreeMap<>();
    SortedMap<String, Digest> keys = new TreeMap<>();
    dependencies.forEach((name, d) -> {
      keyed.put(name, d.keyed());
      keys.put(name, d.key());
    });
    KeyManifest unkeyed = new KeyManifest(FORMAT_VERSION, null, argv, workingDirectory,
        environment, inputs, keyed, keys, outputs, bundler, platform, true);
    return unkeyed.withKey(KeyEncoding.key(hashes, unkeyed));
  }

  private KeyManifest withKey(Digest newKey) {
    return new KeyManifest(this, newKey);
  }

  /** {@code unkeyed} with {@code key}: its collections are immutable already, so they are shared. */
  private KeyManifest(KeyManifest unkeyed, Digest key) {
    this.formatVersion = unkeyed.formatVersion;
    this.key = key;
    this.argv = unkeyed.argv;
    this.workingDirectory = unkeyed.workingDirectory;
    this.environment = unkeyed.environment;
    this.inputs = unkeyed.inputs;
    this.dependencies = unkeyed.dependencies;
    this.dependencyKeys = unkeyed.dependencyKeys;
    this.outputs = unkeyed.outputs;
    this.bundler = unkeyed.bundler;
    this.platform = unkeyed.platform;
  }

  /** The cache key: the digest of all the components below, unambiguously encoded. */
  public Digest key() {
    return key;
  }

  public int formatVersion() {
    return formatVersion;
  }

  /** The command's argv; empty for a bundler target. */
  public List<String> argv() {
    return argv;
  }

  /** The working directory, relative to the workspace root. */
  public String workingDirectory() {
    return workingDirectory;
  }

  /** Variable name to the digest of its value, for every variable the command sees. */
  public SortedMap<String, Digest> environment() {
    return environment;
  }

  /** Input file (relative to the workspace root) to its content digest. */
  public SortedMap<String, Digest> inputs() {
    return inputs;
  }

  /**
   * Dependency name to what the key covers of it: the digest of its outputs ({@link
   * #outputDigest}) if it declares outputs, else its cache key (see {@link Dependency}).
   */
  public SortedMap<String, Digest> dependencies() {
    return dependencies;
  }

  /**
   * Dependency name to its cache key in the build this manifest was computed in: not part of the
   * key (unless the dependency declares no outputs), kept so that {@link #diff} and {@code
   * explain} can tell a dependency that re-ran with the same outputs from one that did not.
   */
  public SortedMap<String, Digest> dependencyKeys() {
    return dependencyKeys;
  }

  /** Whether dependency {@code name} is keyed by its key, because it declares no outputs. */
  public boolean keyedByKey(String name) {
    Digest value = dependencies.get(name);
    return value != null && value.equals(dependencyKeys.get(name));
  }

  /**
   * The digest of a dependency's outputs as its dependents' keys cover them: every output file's
   * path, content digest and executable bit, and the declared outputs that are directories
   * (docs/CACHE-KEY.md, "Output digest"). Byte-identical outputs give the same digest whether the
   * dependency ran here, ran on a worker or was restored from the cache.
   */
  public static Digest outputDigest(HashProvider hashes, ActionManifest manifest) {
    Objects.requireNonNull(hashes, "hashes");
    Objects.requireNonNull(manifest, "manifest");
    return KeyEncoding.outputDigest(hashes, manifest.outputs(), manifest.directories());
  }

  /** The declared outputs. Two targets that differ only in where they write must not share. */
  public List<String> outputs() {
    return outputs;
  }

  /** The bundler's identity and settings; empty for a command target. */
  public Optional<BundlerKey> bundler() {
    return Optional.ofNullable(bundler);
  }

  public Platform platform() {
    return platform;
  }

  /**
   * What differs between this manifest and {@code previous}, one line per difference, in
   * component order; empty if the keys are equal. Lines read like {@code argv[2] changed: '-O1'
   * -> '-O2'}, {@code env FOO changed}, {@code input src/B.java added}, {@code dependency lib key
   * changed: … -> …}, {@code platform changed: linux/x86_64 -> macos/aarch64}.
   */
  public List<String> diff(KeyManifest previous) {
    Objects.requireNonNull(previous, "previous");
    List<String> out = new ArrayList<>();
    if (previous.formatVersion != formatVersion) {
      out.add("key format changed: " + previous.formatVersion + " -> " + formatVersion);
    }
    if (!previous.key.algorithm().equals(key.algorithm())) {
      out.add("hash algorithm changed: " + previous.key.algorithm() + " -> " + key.algorithm());
    }
    diffArgv(previous.argv, out);
    if (!previous.workingDirectory.equals(workingDirectory)) {
      out.add("cwd changed: '" + previous.workingDirectory + "' -> '" + workingDirectory + "'");
    }
    diffMap("env ", previous.environment, environment, false, out);
    diffMap("input ", previous.inputs, inputs, true, out);
    diffDependencies(previous, out);
    if (!previous.outputs.equals(outputs)) {
      out.add("outputs changed: " + previous.outputs + " -> " + outputs);
    }
    diffBundler(previous.bundler, out);
    if (!previous.platform.equals(platform)) {
      out.add("platform changed: " + previous.platform + " -> " + platform);
    }
    if (out.isEmpty() && !previous.key.equals(key)) {
      out.add("key changed (" + previous.key + " -> " + key + ") but no recorded component did");
    }
    return Collections.unmodifiableList(out);
  }

  private void diffArgv(List<String> before, List<String> out) {
    int common = Math.min(before.size(), argv.size());
    for (int i = 0; i < common; i++) {
      if (!before.get(i).equals(argv.get(i))) {
        out.add("argv[" + i + "] changed: '" + before.get(i) + "' -> '" + argv.get(i) + "'");
      }
    }
    for (int i = common; i < argv.size(); i++) {
      out.add("argv[" + i + "] added: '" + argv.get(i) + "'");
    }
    for (int i = common; i < before.size(); i++) {
      out.add("argv[" + i + "] removed: '" + before.get(i) + "'");
    }
  }

  private static void diffMap(
      String label,
      SortedMap<String, Digest> before,
      SortedMap<String, Digest> after,
      boolean showDigests,
      List<String> out) {
    TreeSet<String> names = new TreeSet<>(before.keySet());
    names.addAll(after.keySet());
    String changed = " changed";
    for (String name : names) {
      Digest was = before.get(name);
      Digest now = after.get(name);
      if (was == null) {
        out.add(label + name + " added");
      } else if (now == null) {
        out.add(label + name + " removed");
      } else if (!was.equals(now)) {
        out.add(label + name + changed + (showDigests ? ": " + was + " -> " + now : ""));
      }
    }
  }

  /**
   * A dependency keyed by its outputs whose outputs changed says so (whether or not it re-ran is
   * in its own explanation); one keyed by its key (no declared outputs) says its key changed.
   */
  private void diffDependencies(KeyManifest previous, List<String> out) {
    TreeSet<String> names = new TreeSet<>(previous.dependencies.keySet());
    names.addAll(dependencies.keySet());
    for (String name : names) {
      Digest was = previous.dependencies.get(name);
      Digest now = dependencies.get(name);
      if (was == null) {
        out.add("dependency " + name + " added");
      } else if (now == null) {
        out.add("dependency " + name + " removed");
      } else if (!was.equals(now)) {
        boolean wasByKey = previous.keyedByKey(name);
        boolean nowByKey = keyedByKey(name);
        if (wasByKey && nowByKey) {
          out.add("dependency " + name + " key changed: " + was + " -> " + now);
        } else if (!wasByKey && !nowByKey) {
          out.add("dependency " + name + "'s outputs changed: " + was + " -> " + now);
        } else if (nowByKey) {
          out.add("dependency " + name + " no longer declares outputs, so its key is used");
        } else {
          out.add("dependency " + name + " now declares outputs, so their digest is used");
        }
      }
    }
  }

  private void diffBundler(BundlerKey before, List<String> out) {
    if (before == null && bundler == null) {
      return;
    }
    if (before == null) {
      out.add("bundler added: " + bundler.adapter());
      return;
    }
    if (bundler == null) {
      out.add("bundler removed: " + before.adapter());
      return;
    }
    if (!before.adapter().equals(bundler.adapter())) {
      out.add("bundler adapter changed: '" + before.adapter() + "' -> '" + bundler.adapter() + "'");
    }
    if (!before.version().equals(bundler.version())) {
      out.add("bundler version changed: '" + before.version() + "' -> '" + bundler.version()
          + "'");
    }
    TreeSet<String> names = new TreeSet<>(before.options().keySet());
    names.addAll(bundler.options().keySet());
    for (String name : names) {
      String was = before.options().get(name);
      String now = bundler.options().get(name);
      if (was == null) {
        out.add("bundler option " + name + " added: '" + now + "'");
      } else if (now == null) {
        out.add("bundler option " + name + " removed (was '" + was + "')");
      } else if (!was.equals(now)) {
        out.add("bundler option " + name + " changed: '" + was + "' -> '" + now + "'");
      }
    }
    if (!before.entrypoints().equals(bundler.entrypoints())) {
      out.add("bundler entrypoints changed: " + before.entrypoints() + " -> "
          + bundler.entrypoints());
    }
    if (!before.outDir().equals(bundler.outDir())) {
      out.add("bundler outDir changed: '" + before.outDir() + "' -> '" + bundler.outDir() + "'");
    }
  }

  /**
   * A compact JSON form, for storing in a {@link dev.buildnet.api.state.StateBackend}. {@link
   * #fromJson(String)} reads it back.
   */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("v", formatVersion);
    root.put("key", key.toString());
    ArrayNode argvNode = root.putArray("argv");
    argv.forEach(argvNode::add);
    root.put("cwd", workingDirectory);
    putDigests(root.putObject("env"), environment);
    putDigests(root.putObject("inputs"), inputs);
    putDigests(root.putObject("deps"), dependencies);
    putDigests(root.putObject("depKeys"), dependencyKeys);
    ArrayNode outputsNode = root.putArray("outputs");
    outputs.forEach(outputsNode::add);
    if (bundler != null) {
      ObjectNode b = root.putObject("bundler");
      b.put("adapter", bundler.adapter());
      b.put("version", bundler.version());
      ObjectNode options = b.putObject("options");
      bundler.options().forEach(options::put);
      ArrayNode entries = b.putArray("entrypoints");
      bundler.entrypoints().forEach(entries::add);
      b.put("outDir", bundler.outDir());
    }
    ObjectNode p = root.putObject("platform");
    p.put("os", platform.os());
    p.put("arch", platform.arch());
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree failed to serialize", e);
    }
  }

  private static void putDigests(ObjectNode node, Map<String, Digest> digests) {
    digests.forEach((name, digest) -> node.put(name, digest.toString()));
  }

  /**
   * Reads a manifest written by {@link #toJson()}.
   *
   * @throws BuildNetException if {@code json} is not such a manifest (corrupt, or of another
   *     format version); treat the stored entry as absent
   */
  public static KeyManifest fromJson(String json) {
    Objects.requireNonNull(json, "json");
    try {
      JsonNode root = JSON.readTree(json);
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException("not a JSON object");
      }
      int version = required(root, "v").asInt(-1);
      if (version != FORMAT_VERSION) {
        throw new IllegalArgumentException("format version " + required(root, "v")
            + " is not the supported " + FORMAT_VERSION);
      }
      BundlerKey bundler = null;
      JsonNode b = root.get("bundler");
      if (b != null && !b.isNull()) {
        bundler = new BundlerKey(
            text(b, "adapter"),
            text(b, "version"),
            stringMap(required(b, "options")),
            stringList(required(b, "entrypoints")),
            text(b, "outDir"));
      }
      JsonNode p = required(root, "platform");
      return new KeyManifest(
          version,
          Digest.parse(text(root, "key")),
          stringList(required(root, "argv")),
          text(root, "cwd"),
          digestMap(required(root, "env")),
          digestMap(required(root, "inputs")),
          digestMap(required(root, "deps")),
          digestMap(required(root, "depKeys")),
          stringList(required(root, "outputs")),
          bundler,
          new Platform(text(p, "os"), text(p, "arch")),
          false);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new BuildNetException("unreadable key manifest: " + e.getMessage(), e);
    }
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException("missing field '" + field + "'");
    }
    return value;
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = required(node, field);
    if (!value.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' is not a string");
    }
    return value.asText();
  }

  private static List<String> stringList(JsonNode node) {
    if (!node.isArray()) {
      throw new IllegalArgumentException("expected an array but found " + node.getNodeType());
    }
    List<String> values = new ArrayList<>(node.size());
    for (JsonNode element : node) {
      if (!element.isTextual()) {
        throw new IllegalArgumentException("array element is not a string: " + element);
      }
      values.add(element.asText());
    }
    return values;
  }

  private static SortedMap<String, String> stringMap(JsonNode node) {
    if (!node.isObject()) {
      throw new IllegalArgumentException("expected an object but found " + node.getNodeType());
    }
    SortedMap<String, String> values = new TreeMap<>();
    for (Map.Entry<String, JsonNode> entry : node.properties()) {
      values.put(entry.getKey(), text(node, entry.getKey()));
    }
    return values;
  }

  private static SortedMap<String, Digest> digestMap(JsonNode node) {
    SortedMap<String, Digest> values = new TreeMap<>();
    stringMap(node).forEach((name, digest) -> values.put(name, Digest.parse(digest)));
    return values;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyManifest m
        && m.formatVersion == formatVersion
        && m.key.equals(key)
        && m.argv.equals(argv)
        && m.workingDirectory.equals(workingDirectory)
        && m.environment.equals(environment)
        && m.inputs.equals(inputs)
        && m.dependencies.equals(dependencies)
        && m.dependencyKeys.equals(dependencyKeys)
        && m.outputs.equals(outputs)
        && Objects.equals(m.bundler, bundler)
        && m.platform.equals(platform);
  }

  @Override
  public int hashCode() {
    return key.hashCode();
  }

  @Override
  public String toString() {
    return "KeyManifest[" + key + ", " + inputs.size() + " inputs, " + dependencies.size()
        + " dependencies]";
  }

  /**
   * A dependency as a dependent's key sees it: its cache key, and the digest of its outputs
   * ({@link #outputDigest}) or null if it declares none. The key covers {@link #keyed()}: the
   * outputs when there are some, since that is all a dependent may consume from it (so a
   * dependency that re-runs and writes the same bytes leaves its dependents cached: early
   * cutoff); the key otherwise, since a dependency without outputs may be there for its side
   * effects or for ordering, and its key is the conservative stand-in for "it changed".
   *
   * @since 0.1
   */
  public record Dependency(Digest key, Digest outputs) {
    public Dependency {
      Objects.requireNonNull(key, "key");
    }

    /** A dependency that declares no outputs: keyed by its key. */
    public static Dependency byKey(Digest key) {
      return new Dependency(key, null);
    }

    /** What the dependent's key covers. */
    public Digest keyed() {
      return outputs != null ? outputs : key;
    }
  }

  /**
   * The bundler part of a key.
   *
   * @param adapter the adapter's name
   * @param version the adapter's reported tool version
   * @param options adapter options, sorted by name
   * @param entrypoints entry files relative to the working directory, in order
   * @param outDir where it writes, relative to the workspace root
   * @since 0.1
   */
  public record BundlerKey(
      String adapter,
      String version,
      SortedMap<String, String> options,
      List<String> entrypoints,
      String outDir) {
    public BundlerKey {
      Objects.requireNonNull(adapter, "adapter");
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(outDir, "outDir");
      options = Collections.unmodifiableSortedMap(new TreeMap<>(options));
      entrypoints = List.copyOf(entrypoints);
    }
  }
}
