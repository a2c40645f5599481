package dev.buildnet.internal.cache;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Computes a target's cache key and the {@link KeyManifest} that explains it.
 *
 * <h2>What the key covers</h2>
 * The command's argv; the environment the command sees ({@link Target#resolveEnvironment}, so
 * passthrough values as the host has them); the working directory; every input file's path
 * relative to the workspace root and its content digest; each dependency's output digest (its
 * key if it declares no outputs: {@link KeyManifest.Dependency}); the declared
 * outputs; for a bundler target, the adapter's name and version, its options, entrypoints and
 * outDir; and the {@link Platform}. Not covered: the workspace's absolute location, file times,
 * the target's name, and scheduling settings (priority, retries, timeout, resources,
 * capabilities), none of which changes what the target produces.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * CacheKeyBuilder keys = CacheKeyBuilder.builder(workspace, hashProvider, digestCache::digest)
 *     .bundlerVersions(name -> adapters.get(name).version())
 *     .build();
 * KeyManifest manifest = keys.manifestOf(target, resolver.resolve(target), dependencies);
 * }</pre>
 * Dependencies must be keyed first (walk {@link dev.buildnet.graph.BuildGraph#topologicalOrder()}).
 *
 * <p>Immutable and thread-safe if the {@link FileDigester} is; {@link #manifest} blocks while
 * input files are digested.
 *
 * @since 0.1
 */
public final class CacheKeyBuilder {
  private final Path workspaceRoot;
  private final HashProvider hashes;
  private final FileDigester files;
  private final Map<String, String> hostEnvironment;
  private final Function<String, String> bundlerVersions;
  private final Platform platform;

  private CacheKeyBuilder(Builder b) {
    this.workspaceRoot = b.workspaceRoot;
    this.hashes = b.hashes;
    this.files = b.files;
    this.hostEnvironment = b.hostEnvironment == null ? Map.copyOf(System.getenv())
        : b.hostEnvironment;
    this.bundlerVersions = b.bundlerVersions;
    this.platform = b.platform == null ? Platform.current() : b.platform;
  }

  /**
   * A builder for keys of targets in the workspace at {@code workspaceRoot}.
   *
   * @param hashes digests the key itself and environment values
   * @param files digests input file contents (e.g. {@code hashes::hash}, or a caching digester)
   */
  public static Builder builder(Path workspaceRoot, HashProvider hashes, FileDigester files) {
    return new Builder(workspaceRoot, hashes, files);
  }

  /** The platform keys are computed for. */
  public Platform platform() {
    return platform;
  }

  /**
   * The manifest of {@code target} with every dependency keyed by its key, as for dependencies
   * that declare no outputs ({@link KeyManifest.Dependency#byKey}).
   *
   * @see #manifestOf
   */
  public KeyManifest manifest(
      Target target, Collection<String> inputFiles, Map<String, Digest> dependencyKeys) {
    Objects.requireNonNull(dependencyKeys, "dependencyKeys");
    Map<String, KeyManifest.Dependency> byKey = new TreeMap<>();
    dependencyKeys.forEach((name, key) -> byKey.put(name, KeyManifest.Dependency.byKey(key)));
    return manifestOf(target, inputFiles, byKey);
  }

  /**
   * The manifest, and so the key, of {@code target}.
   *
   * @param inputFiles the target's input files relative to the workspace root, as {@link
   *     dev.buildnet.internal.graph.InputResolver#resolve} returns them (any order, no duplicates)
   * @param dependencyKeys each of the target's dependencies, no more and no fewer: its key and,
   *     if it declares outputs, their digest ({@link KeyManifest#outputDigest})
   * @throws IllegalArgumentException if {@code dependencyKeys} does not match the dependencies
   * @throws IllegalStateException if a bundler target is keyed with no version for its adapter
   * @throws BuildNetException if an input file cannot be read
   */
  public KeyManifest manifestOf(Target target, Collection<String> inputFiles,
      Map<String, KeyManifest.Dependency> dependencyKeys) {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(inputFiles, "inputFiles");
    Objects.requireNonNull(dependencyKeys, "dependencyKeys");
    String name = target.name();

    SortedMap<String, Digest> environment = new TreeMap<>();
    target.resolveEnvironment(hostEnvironment).forEach((variable, value) ->
        environment.put(variable, hashes.hash(value.getBytes(StandardCharsets.UTF_8))));

    SortedMap<String, Digest> inputs = new TreeMap<>();
    for (String file : inputFiles) {
      if (file == null || file.isEmpty() || file.startsWith("/")) {
        throw new IllegalArgumentException(
            "target '" + name + "': input file '" + file + "' is not a relative path");
      }
      if (inputs.put(file, digest(name, file)) != null) {
        throw new IllegalArgumentException(
            "target '" + name + "': input file '" + file + "' is listed twice");
      }
    }

    SortedMap<String, KeyManifest.Dependency> dependencies = new TreeMap<>();
    for (String dependency : target.dependencies()) {
      KeyManifest.Dependency key = dependencyKeys.get(dependency);
      if (key == null) {
        throw new IllegalArgumentException(
            "target '" + name + "': no key given for dependency '" + dependency + "'");
      }
      dependencies.put(dependency, key);
    }
    if (dependencyKeys.size() != dependencies.size()) {
      TreeMap<String, KeyManifest.Dependency> extra = new TreeMap<>(dependencyKeys);
      extra.keySet().removeAll(dependencies.keySet());
      throw new IllegalArgumentException(
          "target '" + name + "': keys given for targets it does not depend on: " + extra.keySet());
    }

    KeyManifest.BundlerKey bundler = target.bundler().map(b -> new KeyManifest.BundlerKey(
        b.adapter(), versionOf(name, b.adapter()), b.options(), b.entrypoints(), b.outDir()))
        .orElse(null);

    // compute takes 'environment' and 'inputs' over rather than copying them: not used after this.
    return KeyManifest.compute(hashes, target.command(), target.workingDirectory(), environment,
        inputs, dependencies, target.outputs(), bundler, platform);
  }

  private Digest digest(String target, String file) {
    Path path = workspaceRoot.resolve(file);
    try {
      Digest digest = files.digest(path);
      if (digest == null) {
        throw new IllegalStateException("the file digester returned null for " + path);
      }
      return digest;
    } catch (IOException e) {
      throw new BuildNetException(
          "target '" + target + "': cannot digest input '" + file + "' (" + path + "): " + e, e);
    }
  }

  private String versionOf(String target, String adapter) {
    if (bundlerVersions == null) {
      throw new IllegalStateException("target '" + target + "' uses bundler '" + adapter
          + "' but this CacheKeyBuilder was built without bundlerVersions");
    }
    String version = bundlerVersions.apply(adapter);
    if (version == null) {
      throw new IllegalStateException(
          "target '" + target + "': no version known for bundler adapter '" + adapter + "'");
    }
    return version;
  }

  /**
   * Configures a {@link CacheKeyBuilder}; each setting may be set once. Not thread-safe.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final Path workspaceRoot;
    private final HashProvider hashes;
    private final FileDigester files;
    private Map<String, String> hostEnvironment;
    private Function<String, String> bundlerVersions;
    private Platform platform;

    private Builder(Path workspaceRoot, HashProvider hashes, FileDigester files) {
      if (workspaceRoot == null) {
        throw new IllegalArgumentException("workspaceRoot is null");
      }
      if (hashes == null) {
        throw new IllegalArgumentException("hashes is null");
      }
      if (files == null) {
        throw new IllegalArgumentException("files is null");
      }
      this.workspaceRoot = workspaceRoot.toAbsolutePath().normalize();
      this.hashes = hashes;
      this.files = files;
    }

    /**
     * Where passthrough variables get their values (copied now); {@code System.getenv()} at
     * {@link #build()} if never set.
     */
    public Builder hostEnvironment(Map<String, String> environment) {
      if (hostEnvironment != null) {
        throw new IllegalStateException("hostEnvironment was already set");
      }
      if (environment == null) {
        throw new IllegalArgumentException("hostEnvironment is null");
      }
      this.hostEnvironment = Map.copyOf(environment);
      return this;
    }

    /**
     * The tool version of each bundler adapter by name (e.g. {@code BundlerAdapter::version} of
     * the registered adapters); needed to key bundler targets.
     */
    public Builder bundlerVersions(Function<String, String> versions) {
      if (bundlerVersions != null) {
        throw new IllegalStateException("bundlerVersions was already set");
      }
      if (versions == null) {
        throw new IllegalArgumentException("bundlerVersions is null");
      }
      this.bundlerVersions = versions;
      return this;
    }

    /** The platform to key for; {@link Platform#current()} if never set. */
    public Builder platform(Platform value) {
      if (platform != null) {
        throw new IllegalStateException("platform was already set to " + platform);
      }
      if (value == null) {
        throw new IllegalArgumentException("platform is null");
      }
      this.platform = value;
      return this;
    }

    public CacheKeyBuilder build() {
      return new CacheKeyBuilder(this);
    }
  }
}
