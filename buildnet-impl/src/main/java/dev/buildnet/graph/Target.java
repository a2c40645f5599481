package dev.buildnet.graph;

import dev.buildnet.internal.graph.ArgumentExpansion;
import dev.buildnet.internal.graph.Glob;
import dev.buildnet.internal.graph.InputResolver;
import dev.buildnet.internal.graph.RelativePaths;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * One unit of work in a build: a command (an argv list) or a bundler run, with the files it reads,
 * the files it writes, the targets it needs first, and what it needs from a worker.
 *
 * <p>Create one with {@link #builder(String)}. A target is immutable and safe to share between
 * threads. It is only a declaration: nothing here touches the disk. {@link BuildGraph} checks how
 * targets relate to each other; {@link InputResolver} expands inputs against the real workspace.
 *
 * <h2>Paths</h2>
 * Every path is relative to the workspace root and uses '/' as the separator. Absolute paths,
 * backslashes and {@code ..} segments that climb above the root are rejected; other {@code .} and
 * {@code ..} segments are resolved lexically, so {@link #inputs()} and {@link #outputs()} return
 * normalized paths ({@code "."} is the root). Nothing may be an output in BuildNet's state
 * directory {@code .buildnet/}, and nothing there is ever an input.
 *
 * <h2>Inputs</h2>
 * An input is a plain path (a file, or a directory standing for every file below it) or a glob:
 * {@code *} and {@code ?} match within one path segment, a {@code **} segment matches zero or more
 * directories, {@code {a,b}} matches either alternative; brackets are literal. An input starting
 * with {@code !} is an exclusion: files it matches, or that lie below a directory it matches, are
 * removed from what the other inputs matched, whatever the order. A plain input must exist when
 * the build runs; a glob may match nothing. A target's own outputs are never its inputs.
 *
 * <h2>Environment</h2>
 * The command sees only the variables listed with {@link Builder#env} and {@link
 * Builder#envPassthrough} and {@link Builder#envPassthroughUnhashed}; passthrough values are read
 * from the host when the build runs (see {@link #commandEnvironment}). Explicit and {@code
 * envPassthrough} values are part of the cache key ({@link #resolveEnvironment}); {@code
 * envPassthroughUnhashed} values are not.
 *
 * @since 0.1
 */
public final class Target {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:/-]+");

  private final String name;
  private final List<String> command;
  private final Bundler bundler;
  private final String workingDirectory;
  private final SortedMap<String, String> environment;
  private final SortedSet<String> envPassthrough;
  private final SortedSet<String> envPassthroughUnhashed;
  private final List<String> inputs;
  private final List<String> outputs;
  private final List<String> dependencies;
  private final SortedSet<String> requiredCapabilities;
  private final int cpuSlots;
  private final long memoryMb;
  private final Duration timeout;
  private final int retries;
  private final int priority;
  private final boolean cacheable;

  private Target(Builder b, List<String> outputs) {
    this.name = b.name;
    this.command = b.command == null ? List.of() : List.copyOf(b.command);
    this.bundler = b.bundler;
    this.workingDirectory = b.workingDirectory == null ? "." : b.workingDirectory;
    this.environment = sortedCopy(b.env);
    this.envPassthrough = sortedCopy(b.envPassthrough);
    this.envPassthroughUnhashed = sortedCopy(b.envPassthroughUnhashed);
    this.inputs = List.copyOf(b.inputs);
    this.outputs = List.copyOf(outputs);
    this.dependencies = List.copyOf(b.dependencies);
    this.requiredCapabilities = sortedCopy(b.capabilities);
    this.cpuSlots = b.cpuSlots == null ? 1 : b.cpuSlots;
    this.memoryMb = b.memoryMb == null ? 0 : b.memoryMb;
    this.timeout = b.timeout;
    this.retries = b.retries == null ? 0 : b.retries;
    this.priority = b.priority == null ? 0 : b.priority;
    this.cacheable = b.cacheable == null || b.cacheable;
  }

  /**
   * An unmodifiable sorted copy; the one shared empty map when there is nothing in it. Most targets
   * declare no environment, pass-through or capabilities, and four empty TreeMaps with their
   * wrappers were about 350 bytes per target that a long-lived process kept for each.
   */
  private static SortedMap<String, String> sortedCopy(Map<String, String> m) {
    return m.isEmpty() ? Collections.emptySortedMap()
        : Collections.unmodifiableSortedMap(new TreeMap<>(m));
  }

  /** As {@link #sortedCopy(Map)}, for a set. */
  private static SortedSet<String> sortedCopy(java.util.Collection<String> s) {
    return s.isEmpty() ? Collections.emptySortedSet()
        : Collections.unmodifiableSortedSet(new TreeSet<>(s));
  }

  /** A copy with another environment and timeout; see {@link #withBuildOverrides}. */
  private Target(Target t, SortedMap<String, String> environment, SortedSet<String> envPassthrough,
      Duration timeout) {
    this.name = t.name;
    this.command = t.command;
    this.bundler = t.bundler;
    this.workingDirectory = t.workingDirectory;
    this.environment = sortedCopy(environment);
    this.envPassthrough = sortedCopy(envPassthrough);
    this.envPassthroughUnhashed = t.envPassthroughUnhashed;
    this.inputs = t.inputs;
    this.outputs = t.outputs;
    this.dependencies = t.dependencies;
    this.requiredCapabilities = t.requiredCapabilities;
    this.cpuSlots = t.cpuSlots;
    this.memoryMb = t.memoryMb;
    this.timeout = timeout;
    this.retries = t.retries;
    this.priority = t.priority;
    this.cacheable = t.cacheable;
  }

  /**
   * This target as one build runs it, given that build's overrides (a BUILD_REQUEST's {@code env}
   * and {@code timeout_ms}, docs/PROTOCOL.md): each passthrough variable named in {@code env}
   * takes the build's value instead of the host's, exactly as if the host had it, so the command
   * and the cache key see it (explicit variables and variables the target does not pass through
   * are untouched); the timeout becomes the smaller of the target's own and {@code timeoutCap}.
   * Returns this target itself when nothing applies.
   *
   * @param env the build's values, by variable name; not null
   * @param timeoutCap a per-target upper bound, or null for none
   * @since 0.1
   */
  public Target withBuildOverrides(Map<String, String> env, Duration timeoutCap) {
    Objects.requireNonNull(env, "env");
    TreeMap<String, String> explicit = new TreeMap<>(environment);
    TreeSet<String> passthrough = new TreeSet<>(envPassthrough);
    for (String variable : envPassthrough) {
      String value = env.get(variable);
      if (value != null) {
        passthrough.remove(variable);
        explicit.put(variable, value);
      }
    }
    Duration capped = timeoutCap == null || (timeout != null && timeout.compareTo(timeoutCap) <= 0)
        ? timeout : timeoutCap;
    if (passthrough.size() == envPassthrough.size() && Objects.equals(capped, timeout)) {
      return this;
    }
    return new Target(this, explicit, passthrough, capped);
  }

  /**
   * A builder for a target called {@code name}, which must be non-empty and made of letters,
   * digits and {@code _ . : / -}.
   *
   * @throws IllegalArgumentException if the name is not of that form
   */
  public static Builder builder(String name) {
    if (name == null) {
      throw new IllegalArgumentException("target name is null");
    }
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "target name '" + name + "' must be non-empty and use only letters, digits and _ . : / -");
    }
    return new Builder(name);
  }

  static boolean isValidName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  /** The unique name, e.g. {@code "app:compile"}. */
  public String name() {
    return name;
  }

  /** The argv to run; empty for a bundler target. */
  public List<String> command() {
    return command;
  }

  /** The bundler run; empty for a command target. Exactly one of the two is present. */
  public Optional<Bundler> bundler() {
    return Optional.ofNullable(bundler);
  }

  /** Where the command runs, relative to the workspace root; {@code "."} by default. */
  public String workingDirectory() {
    return workingDirectory;
  }

  /** The explicitly set variables, sorted by name. */
  public SortedMap<String, String> environment() {
    return environment;
  }

  /** The variables whose values are taken from the host at build time, sorted. */
  public SortedSet<String> envPassthrough() {
    return envPassthrough;
  }

  /**
   * The variables whose values are taken from the host at build time but are <em>not</em> part of
   * the cache key (e.g. {@code PATH} when the tools it finds are pinned otherwise), sorted.
   *
   * @since 0.3
   */
  public SortedSet<String> envPassthroughUnhashed() {
    return envPassthroughUnhashed;
  }

  /**
   * The hashed part of the command's environment: the explicit variables plus each passthrough
   * variable that is set in {@code hostEnvironment} (an unset one is simply absent). This is
   * exactly what the cache key covers; the command also sees {@link #envPassthroughUnhashed()}
   * variables (see {@link #commandEnvironment}).
   */
  public SortedMap<String, String> resolveEnvironment(Map<String, String> hostEnvironment) {
    Objects.requireNonNull(hostEnvironment, "hostEnvironment");
    TreeMap<String, String> resolved = new TreeMap<>(environment);
    for (String variable : envPassthrough) {
      String value = hostEnvironment.get(variable);
      if (value != null) {
        resolved.put(variable, value);
      }
    }
    return Collections.unmodifiableSortedMap(resolved);
  }

  /**
   * The complete environment the command sees: {@link #resolveEnvironment} plus each {@link
   * #envPassthroughUnhashed()} variable that is set in {@code hostEnvironment}.
   *
   * @since 0.3
   */
  public SortedMap<String, String> commandEnvironment(Map<String, String> hostEnvironment) {
    TreeMap<String, String> all = new TreeMap<>(resolveEnvironment(hostEnvironment));
    for (String variable : envPassthroughUnhashed) {
      String value = hostEnvironment.get(variable);
      if (value != null) {
        all.put(variable, value);
      }
    }
    return Collections.unmodifiableSortedMap(all);
  }

  /**
   * The argv to run, with each {@code {inputs}} element replaced by every resolved input file and
   * each {@code {inputs:GLOB}} element by the resolved input files that GLOB matches (one argument
   * per file, in input order, each relative to {@link #workingDirectory()}, a name starting with
   * {@code -} prefixed with {@code ./}); other elements are kept as they are. Empty for a bundler
   * target.
   *
   * @param inputFiles the target's resolved input files, workspace-relative, as {@link
   *     InputResolver#resolve} returns them
   * @since 0.3
   */
  public List<String> expandCommand(List<String> inputFiles) {
    return ArgumentExpansion.expand(command, workingDirectory, inputFiles);
  }

  /** Input paths and patterns as declared (normalized); exclusions keep their {@code !} prefix. */
  public List<String> inputs() {
    return inputs;
  }

  /**
   * Output files and directories, normalized. For a bundler target this includes the bundler's
   * {@link Bundler#outDir()} unless a declared output already contains it.
   */
  public List<String> outputs() {
    return outputs;
  }

  /** Names of the targets that must finish first, in declaration order. */
  public List<String> dependencies() {
    return dependencies;
  }

  /** Capabilities a worker must offer to run this target (e.g. {@code "docker"}), sorted. */
  public SortedSet<String> requiredCapabilities() {
    return requiredCapabilities;
  }

  /** CPU slots the target occupies while it runs; at least 1. */
  public int cpuSlots() {
    return cpuSlots;
  }

  /** Memory the target is expected to need, in MiB; 0 when not declared. */
  public long memoryMb() {
    return memoryMb;
  }

  /** How long one attempt may run; empty for no limit. */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  /** How many times a failed attempt is retried; 0 by default. */
  public int retries() {
    return retries;
  }

  /** True if {@link #retries()} is positive. */
  public boolean retryable() {
    return retries > 0;
  }

  /** Scheduling priority; higher runs first among ready targets; 0 by default. */
  public int priority() {
    return priority;
  }

  /** Whether results may be stored in and served from the cache; true by default. */
  public boolean cacheable() {
    return cacheable;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Target t
        && t.name.equals(name)
        && t.command.equals(command)
        && Objects.equals(t.bundler, bundler)
        && t.workingDirectory.equals(workingDirectory)
        && t.environment.equals(environment)
        && t.envPassthrough.equals(envPassthrough)
        && t.envPassthroughUnhashed.equals(envPassthroughUnhashed)
        && t.inputs.equals(inputs)
        && t.outputs.equals(outputs)
        && t.dependencies.equals(dependencies)
        && t.requiredCapabilities.equals(requiredCapabilities)
        && t.cpuSlots == cpuSlots
        && t.memoryMb == memoryMb
        && Objects.equals(t.timeout, timeout)
        && t.retries == retries
        && t.priority == priority
        && t.cacheable == cacheable;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, command, bundler, workingDirectory, environment, inputs, outputs);
  }

  /** The name and what it runs, e.g. {@code Target[app: javac -d out src/A.java]}. */
  @Override
  public String toString() {
    String what = bundler != null ? "bundler " + bundler.adapter() : String.join(" ", command);
    return "Target[" + name + ": " + what + "]";
  }

  /**
   * A bundler run: which {@link dev.buildnet.api.bundle.BundlerAdapter} to use, with what.
   * Immutable.
   *
   * @since 0.1
   */
  public static final class Bundler {
    private final String adapter;
    private final SortedMap<String, String> options;
    private final List<String> entrypoints;
    private final String outDir;

    private Bundler(
        String adapter, Map<String, String> options, List<String> entrypoints, String outDir) {
      this.adapter = adapter;
      this.options = Collections.unmodifiableSortedMap(new TreeMap<>(options));
      this.entrypoints = List.copyOf(entrypoints);
      this.outDir = outDir;
    }

    /** The adapter's {@link dev.buildnet.api.bundle.BundlerAdapter#name()}, e.g. "esbuild". */
    public String adapter() {
      return adapter;
    }

    /** Adapter-specific options, sorted by name. */
    public SortedMap<String, String> options() {
      return options;
    }

    /** Entry files, relative to the target's working directory, in declaration order. */
    public List<String> entrypoints() {
      return entrypoints;
    }

    /** Where the bundler writes, relative to the workspace root (normalized). */
    public String outDir() {
      return outDir;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Bundler b
          && b.adapter.equals(adapter)
          && b.options.equals(options)
          && b.entrypoints.equals(entrypoints)
          && b.outDir.equals(outDir);
    }

    @Override
    public int hashCode() {
      return Objects.hash(adapter, options, entrypoints, outDir);
    }

    @Override
    public String toString() {
      return "Bundler[" + adapter + " " + entrypoints + " -> " + outDir + ", options=" + options
          + "]";
    }
  }

  /**
   * Collects a target's declaration and checks each piece at once. Settings that are single
   * values may be set once; {@code env}, {@code envPassthrough}, {@code inputs}, {@code outputs},
   * {@code dependsOn} and {@code requires} add to a collection and reject repeats. Every error is
   * an {@link IllegalArgumentException} (bad value) or {@link IllegalStateException} (set twice,
   * conflicting settings) whose message names the target and the setting.
   *
   * <p>Not thread-safe. {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private final String name;
    private List<String> command;
    private Bundler bundler;
    private String workingDirectory;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final Set<String> envPassthrough = new LinkedHashSet<>();
    private final Set<String> envPassthroughUnhashed = new LinkedHashSet<>();
    private final Set<String> inputs = new LinkedHashSet<>();
    private final Set<String> outputs = new LinkedHashSet<>();
    private final Set<String> dependencies = new LinkedHashSet<>();
    private final Set<String> capabilities = new LinkedHashSet<>();
    private Integer cpuSlots;
    private Long memoryMb;
    private Duration timeout;
    private Integer retries;
    private Integer priority;
    private Boolean cacheable;

    private Builder(String name) {
      this.name = name;
    }

    private String prefix() {
      return "target '" + name + "': ";
    }

    private IllegalArgumentException bad(String message) {
      return new IllegalArgumentException(prefix() + message);
    }

    private void once(Object current, String setting) {
      if (current != null) {
        throw new IllegalStateException(
            prefix() + setting + " was already set to " + describe(current));
      }
    }

    private static String describe(Object value) {
      return value instanceof String s ? "'" + s + "'" : String.valueOf(value);
    }

    /** The program and its arguments, run as they are (no shell). */
    public Builder command(String... argv) {
      if (argv == null) {
        throw bad("command is null");
      }
      return command(Arrays.asList(argv));
    }

    /** The program and its arguments, run as they are (no shell). */
    public Builder command(List<String> argv) {
      once(command, "command");
      if (bundler != null) {
        throw new IllegalStateException(
            prefix() + "cannot have both a command and a bundler (bundler '" + bundler.adapter()
                + "' is already set)");
      }
      if (argv == null) {
        throw bad("command is null");
      }
      List<String> copy = new ArrayList<>(argv.size());
      for (int i = 0; i < argv.size(); i++) {
        String arg = argv.get(i);
        if (arg == null) {
          throw bad("command[" + i + "] is null");
        }
        if (arg.indexOf('\0') >= 0) {
          throw bad("command[" + i + "] contains a NUL character");
        }
        String placeholder = ArgumentExpansion.check(arg);
        if (placeholder != null) {
          throw bad("command[" + i + "] " + placeholder);
        }
        // Interned: the same few words recur in most targets' commands (node, a shared script,
        // flags), and a long-lived process keeps every target: 1.2 MB of copies at 5,000 targets.
        copy.add(arg.intern());
      }
      if (copy.isEmpty()) {
        throw bad("command must not be empty");
      }
      if (copy.get(0).isBlank()) {
        throw bad("command[0] must name a program");
      }
      this.command = copy;
      return this;
    }

    /**
     * Runs a bundler instead of a command.
     *
     * @param adapter the adapter's name, e.g. {@code "esbuild"}
     * @param options adapter-specific options
     * @param entrypoints entry files, relative to the working directory; at least one
     * @param outDir where the bundler writes, relative to the workspace root; always an output
     */
    public Builder bundler(
        String adapter, Map<String, String> options, List<String> entrypoints, String outDir) {
      once(bundler == null ? null : bundler.adapter(), "bundler");
      if (command != null) {
        throw new IllegalStateException(
            prefix() + "cannot have both a command and a bundler (command " + command
                + " is already set)");
      }
      if (adapter == null || adapter.isBlank() || adapter.chars().anyMatch(Character::isWhitespace)) {
        throw bad("bundler adapter must be a non-empty name without spaces but was "
            + describe(adapter));
      }
      if (options == null) {
        throw bad("bundler options is null (use an empty map)");
      }
      for (Map.Entry<String, String> option : options.entrySet()) {
        if (option.getKey() == null || option.getKey().isBlank()) {
          throw bad("bundler option names must not be empty");
        }
        if (option.getValue() == null) {
          throw bad("bundler option '" + option.getKey() + "' is null");
        }
      }
      if (entrypoints == null || entrypoints.isEmpty()) {
        throw bad("bundler needs at least one entrypoint");
      }
      List<String> entries = new ArrayList<>();
      for (int i = 0; i < entrypoints.size(); i++) {
        String entry = entrypoints.get(i);
        String what = prefix() + "bundler entrypoint " + describe(entry);
        // Where it leads is checked against the working directory in build().
        RelativePaths.checkSyntax(what, entry, false);
        entries.add(entry);
      }
      String out = RelativePaths.normalize(prefix() + "bundler outDir " + describe(outDir),
          outDir, false);
      if (RelativePaths.overlapsStateDir(out)) {
        throw bad("bundler outDir '" + out + "' overlaps BuildNet's state directory .buildnet/");
      }
      this.bundler = new Bundler(adapter, options, entries, out);
      return this;
    }

    /** Where the command runs, relative to the workspace root; {@code "."} if never set. */
    public Builder workingDirectory(String directory) {
      return workingDirectory(directory, "workingDirectory");
    }

    /** As {@link #workingDirectory(String)}, errors naming {@code field} (buildnet.json's cwd). */
    Builder workingDirectory(String directory, String field) {
      once(workingDirectory, field);
      String dir = RelativePaths.normalize(
          prefix() + field + " " + describe(directory), directory, false);
      if (RelativePaths.contains(RelativePaths.STATE_DIR, dir)) {
        throw bad(field + " '" + dir + "' is inside BuildNet's state directory .buildnet/");
      }
      this.workingDirectory = dir;
      return this;
    }

    /** Sets variable {@code name} to {@code value} in the command's environment. */
    public Builder env(String name, String value) {
      checkVariableName(name, "env");
      if (env.containsKey(name)) {
        throw new IllegalStateException(
            prefix() + "env " + name + " was already set to '" + env.get(name) + "'");
      }
      if (envPassthrough.contains(name) || envPassthroughUnhashed.contains(name)) {
        throw new IllegalStateException(
            prefix() + "env " + name + " is already passed through from the host");
      }
      if (value == null) {
        throw bad("env " + name + " has a null value");
      }
      if (value.indexOf('\0') >= 0) {
        throw bad("env " + name + " contains a NUL character");
      }
      env.put(name, value);
      return this;
    }

    /** Passes these variables through from the host; their values enter the cache key. */
    public Builder envPassthrough(String... names) {
      if (names == null) {
        throw bad("envPassthrough is null");
      }
      for (String variable : names) {
        checkVariableName(variable, "envPassthrough");
        if (env.containsKey(variable)) {
          throw new IllegalStateException(
              prefix() + "envPassthrough " + variable + " is already set explicitly with env");
        }
        if (envPassthroughUnhashed.contains(variable)) {
          throw new IllegalStateException(
              prefix() + "envPassthrough " + variable + " is already in envPassthroughUnhashed");
        }
        if (!envPassthrough.add(variable)) {
          throw new IllegalStateException(
              prefix() + "envPassthrough " + variable + " is already listed");
        }
      }
      return this;
    }

    /**
     * Passes these variables through from the host <em>without</em> putting their values in the
     * cache key: the command sees them, but a change never rebuilds. For variables that locate
     * tools rather than change what they produce ({@code PATH}, {@code HOME}, {@code TMPDIR}).
     *
     * @since 0.3
     */
    public Builder envPassthroughUnhashed(String... names) {
      if (names == null) {
        throw bad("envPassthroughUnhashed is null");
      }
      for (String variable : names) {
        checkVariableName(variable, "envPassthroughUnhashed");
        if (env.containsKey(variable)) {
          throw new IllegalStateException(prefix() + "envPassthroughUnhashed " + variable
              + " is already set explicitly with env");
        }
        if (envPassthrough.contains(variable)) {
          throw new IllegalStateException(prefix() + "envPassthroughUnhashed " + variable
              + " is already in envPassthrough");
        }
        if (!envPassthroughUnhashed.add(variable)) {
          throw new IllegalStateException(
              prefix() + "envPassthroughUnhashed " + variable + " is already listed");
        }
      }
      return this;
    }

    private void checkVariableName(String variable, String setting) {
      if (variable == null || variable.isEmpty()) {
        throw bad(setting + " variable names must not be empty");
      }
      if (variable.indexOf('=') >= 0 || variable.indexOf('\0') >= 0) {
        throw bad(setting + " variable name '" + variable + "' must not contain '=' or NUL");
      }
    }

    /** Adds input paths or patterns; a leading {@code !} makes an exclusion. */
    public Builder inputs(String... paths) {
      if (paths == null) {
        throw bad("inputs is null");
      }
      for (String path : paths) {
        addInput(path);
      }
      return this;
    }

    /** Adds input paths or patterns; a leading {@code !} makes an exclusion. */
    public Builder inputs(List<String> paths) {
      if (paths == null) {
        throw bad("inputs is null");
      }
      return inputs(paths.toArray(new String[0]));
    }

    private void addInput(String declared) {
      boolean exclusion = declared != null && declared.startsWith("!");
      String raw = exclusion ? declared.substring(1) : declared;
      String what = prefix() + "input " + describe(declared);
      String path = RelativePaths.normalize(what, raw, true);
      try {
        Glob.check(path);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(what + " " + e.getMessage(), e);
      }
      if (RelativePaths.contains(RelativePaths.STATE_DIR, RelativePaths.literalBase(path))) {
        throw bad("input " + describe(declared)
            + " is inside BuildNet's state directory .buildnet/, which is never an input");
      }
      String normalized = exclusion ? "!" + path : path;
      if (!inputs.add(normalized.intern())) { // interned as the command (shared scripts)
        throw new IllegalStateException(prefix() + "input '" + normalized + "' is already listed");
      }
    }

    /** Adds output files or directories (plain paths, no patterns). */
    public Builder outputs(String... paths) {
      if (paths == null) {
        throw bad("outputs is null");
      }
      for (String declared : paths) {
        String path = RelativePaths.normalize(
            prefix() + "output " + describe(declared), declared, false);
        if (RelativePaths.overlapsStateDir(path)) {
          throw bad("output '" + path + "' overlaps BuildNet's state directory .buildnet/");
        }
        for (String other : outputs) {
          if (other.equals(path)) {
            throw new IllegalStateException(prefix() + "output '" + path + "' is already listed");
          }
          if (RelativePaths.contains(other, path) || RelativePaths.contains(path, other)) {
            throw bad("outputs '" + other + "' and '" + path + "' overlap; list only the outer one");
          }
        }
        outputs.add(path);
      }
      return this;
    }

    /** Adds output files or directories (plain paths, no patterns). */
    public Builder outputs(List<String> paths) {
      if (paths == null) {
        throw bad("outputs is null");
      }
      return outputs(paths.toArray(new String[0]));
    }

    /** Adds targets that must finish before this one starts. */
    public Builder dependsOn(String... targets) {
      if (targets == null) {
        throw bad("dependsOn is null");
      }
      for (String dependency : targets) {
        if (!isValidName(dependency)) {
          throw bad("dependsOn " + describe(dependency) + " is not a valid target name");
        }
        if (dependency.equals(name)) {
          throw bad("dependsOn lists the target itself");
        }
        if (!dependencies.add(dependency.intern())) { // as its target's name, which JSON interned
          throw new IllegalStateException(
              prefix() + "dependsOn '" + dependency + "' is already listed");
        }
      }
      return this;
    }

    /** Adds targets that must finish before this one starts. */
    public Builder dependsOn(List<String> targets) {
      if (targets == null) {
        throw bad("dependsOn is null");
      }
      return dependsOn(targets.toArray(new String[0]));
    }

    /** Adds capabilities a worker must offer, e.g. {@code "docker"}, {@code "os:linux"}. */
    public Builder requires(String... capabilityNames) {
      if (capabilityNames == null) {
        throw bad("requires is null");
      }
      for (String capability : capabilityNames) {
        if (capability == null
            || capability.isEmpty()
            || capability.chars().anyMatch(Character::isWhitespace)) {
          throw bad("requires " + describe(capability)
              + " is not a capability (non-empty, no spaces)");
        }
        if (!capabilities.add(capability)) {
          throw new IllegalStateException(
              prefix() + "requires '" + capability + "' is already listed");
        }
      }
      return this;
    }

    /** Adds capabilities a worker must offer. */
    public Builder requires(List<String> capabilityNames) {
      if (capabilityNames == null) {
        throw bad("requires is null");
      }
      return requires(capabilityNames.toArray(new String[0]));
    }

    /** CPU slots the target occupies; at least 1; 1 if never set. */
    public Builder cpuSlots(int slots) {
      once(cpuSlots, "cpuSlots");
      if (slots < 1) {
        throw bad("CPU slots (\"cpu\" in buildnet.json) must be at least 1 but was " + slots);
      }
      this.cpuSlots = slots;
      return this;
    }

    /** Expected memory in MiB; at least 0; 0 if never set. */
    public Builder memoryMb(long megabytes) {
      once(memoryMb, "memoryMb");
      if (megabytes < 0) {
        throw bad("memoryMb must not be negative but was " + megabytes);
      }
      this.memoryMb = megabytes;
      return this;
    }

    /** How long one attempt may run; positive. No limit if never set. */
    public Builder timeout(Duration limit) {
      once(timeout, "timeout");
      if (limit == null) {
        throw bad("timeout is null (leave it unset for no limit)");
      }
      if (limit.isZero() || limit.isNegative()) {
        throw bad("timeout must be positive but was " + limit);
      }
      this.timeout = limit;
      return this;
    }

    /** How many times a failed attempt is retried; at least 0; 0 if never set. */
    public Builder retries(int count) {
      once(retries, "retries");
      if (count < 0) {
        throw bad("retries must not be negative but was " + count);
      }
      this.retries = count;
      return this;
    }

    /** Scheduling priority; higher runs first among ready targets; 0 if never set. */
    public Builder priority(int value) {
      once(priority, "priority");
      this.priority = value;
      return this;
    }

    /** Whether results may be cached; true if never set. */
    public Builder cacheable(boolean value) {
      once(cacheable, "cacheable");
      this.cacheable = value;
      return this;
    }

    /**
     * The target.
     *
     * @throws IllegalStateException if neither a command nor a bundler was set
     * @throws IllegalArgumentException if settings conflict (an entrypoint outside the
     *     workspace, a plain input inside an output, only exclusions among the inputs)
     */
    public Target build() {
      if (command == null && bundler == null) {
        throw new IllegalStateException(prefix() + "needs a command or a bundler");
      }
      String cwd = workingDirectory == null ? "." : workingDirectory;
      List<String> allOutputs = new ArrayList<>(outputs);
      if (bundler != null) {
        for (String entry : bundler.entrypoints()) {
          RelativePaths.normalize(
              prefix() + "bundler entrypoint '" + entry + "' (relative to workingDirectory '"
                  + cwd + "')",
              RelativePaths.join(cwd, entry), false);
        }
        boolean covered = false;
        for (String output : outputs) {
          if (RelativePaths.contains(output, bundler.outDir())) {
            covered = true;
          } else if (RelativePaths.contains(bundler.outDir(), output)) {
            throw bad("output '" + output + "' is inside the bundler outDir '" + bundler.outDir()
                + "', which is always an output; list only the outer one");
          }
        }
        if (!covered) {
          allOutputs.add(bundler.outDir());
        }
      }
      boolean hasInclusion = false;
      for (String input : inputs) {
        if (input.startsWith("!")) {
          continue;
        }
        hasInclusion = true;
        if (RelativePaths.isGlob(input)) {
          continue;
        }
        for (String output : allOutputs) {
          if (RelativePaths.contains(output, input)) {
            throw bad("input '" + input + "' is inside its own output '" + output + "'");
          }
        }
      }
      if (!hasInclusion && !inputs.isEmpty()) {
        throw bad("inputs has only exclusions " + inputs + "; nothing to exclude from");
      }
      return new Target(this, allOutputs);
    }
  }
}
