package dev.buildnet.bundle;

import dev.buildnet.internal.bundle.Artifacts;
import dev.buildnet.internal.bundle.Diagnostics;
import dev.buildnet.internal.bundle.ToolBuilder;
import dev.buildnet.internal.bundle.ToolLocator;
import dev.buildnet.internal.bundle.ToolRunner;
import dev.buildnet.internal.bundle.ToolSettings;

import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.bundle.Availability;
import dev.buildnet.api.bundle.BundlerAdapter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs any command as a build step: a configured argv, run in the target's working directory
 * with exactly its environment, whose artifacts are the files at or under the declared output
 * paths.
 *
 * <p>Argv elements and output paths may contain placeholders, replaced with the target's values
 * (never through a shell, so a value with spaces or quotes stays one argument): {@code
 * {workspace}}, {@code {workingDirectory}}, {@code {outDir}}, {@code {target}}, {@code {buildId}};
 * an element that is exactly {@code {entrypoints}} becomes one element per entry point. Other
 * braces are left alone. Output paths are relative to the working directory and must end up
 * inside the workspace; by default the only output is {@code {outDir}}.
 *
 * <p>A non-zero exit is a failed result with an {@code EXIT_CODE} error carrying the last lines
 * of stderr; a declared output that was not produced is a {@code MISSING_OUTPUT} error. The
 * command's diagnostics are not parsed.
 *
 * <p>Thread-safe and immutable; {@link #build} blocks until the command exits, and interrupting
 * the calling thread stops it.
 *
 * @since 0.1
 */
public final class CommandBundlerAdapter implements BundlerAdapter {
  private static final Pattern PLACEHOLDER =
      Pattern.compile("\\{(workspace|workingDirectory|outDir|target|buildId)\\}");
  private static final String ENTRYPOINTS = "{entrypoints}";

  private final String name;
  private final String version;
  private final List<String> command;
  private final List<String> outputs;
  private final String searchPath;
  private final ToolRunner runner;

  private CommandBundlerAdapter(Builder b, ToolSettings settings) {
    this.name = b.name;
    this.version = b.version;
    this.command = b.command;
    this.outputs = b.outputs;
    this.searchPath = settings.searchPath();
    this.runner = new ToolRunner(b.name, settings.shell(), settings.hashes());
  }

  /** An adapter called {@code name} (part of every cache key it contributes to). */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  @Override
  public String name() {
    return name;
  }

  /** The configured version, or "unknown". */
  @Override
  public String version() {
    return version;
  }

  /**
   * Whether the program exists and is executable: an absolute or relative path is checked as is,
   * a bare name is looked up on the search path; a program named by a placeholder is only known
   * at build time and counts as available.
   */
  @Override
  public Availability availability() {
    String program = command.get(0);
    if (PLACEHOLDER.matcher(program).find()) {
      return Availability.available(program + " is resolved when a target builds");
    }
    if (program.contains("/")) {
      Path file = Path.of(program);
      return ToolLocator.isExecutableFile(file)
          ? Availability.available(name + " runs " + file.toAbsolutePath())
          : Availability.unavailable(name + ": " + file.toAbsolutePath() + " is not an executable file");
    }
    if (searchPath != null) {
      for (String entry : searchPath.split(java.io.File.pathSeparator)) {
        if (!entry.isEmpty() && ToolLocator.isExecutableFile(Path.of(entry, program))) {
          return Availability.available(name + " runs " + Path.of(entry, program));
        }
      }
    }
    return Availability.unavailable(
        name + ": " + program + " not found on PATH (" + (searchPath == null ? "PATH is not set" : searchPath) + ")");
  }

  /**
   * @throws IllegalArgumentException if a declared output is outside the workspace
   * @throws dev.buildnet.api.NotStartedException ({@code COMMAND}) if the program cannot be
   *     started
   */
  @Override
  public BuildResult build(BuildContext context) {
    long start = System.nanoTime();
    Objects.requireNonNull(context, "context");
    List<String> argv = new ArrayList<>();
    for (String element : command) {
      if (element.equals(ENTRYPOINTS)) {
        argv.addAll(context.entrypoints());
      } else {
        argv.add(substitute(element, context));
      }
    }
    List<Path> declared = new ArrayList<>();
    for (String output : outputs) {
      Path path = context.workingDirectory().resolve(substitute(output, context));
      declared.add(Artifacts.requireInside(context.workspace(), path, "output"));
    }
    return runner.run(
        start,
        context,
        argv,
        (stdout, stderr, paths) -> new Diagnostics(List.of(), List.of()),
        result -> {
          List<BuildError> missing = new ArrayList<>();
          if (result.succeeded()) {
            for (Path path : declared) {
              if (!Files.exists(path)) {
                missing.add(
                    BuildError.of(
                        "MISSING_OUTPUT",
                        name + " succeeded but did not produce the declared output " + path));
              }
            }
          }
          return new ToolRunner.OutputCheck(declared, missing);
        });
  }

  private static String substitute(String template, BuildContext context) {
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value =
          switch (m.group(1)) {
            case "workspace" -> context.workspace().toString();
            case "workingDirectory" -> context.workingDirectory().toString();
            case "outDir" -> context.outDir().toString();
            case "target" -> context.target();
            case "buildId" -> context.buildId();
            default -> throw new IllegalStateException("unmapped placeholder " + m.group());
          };
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  /**
   * Configures a {@link CommandBundlerAdapter}; every setter may be called once; command, shell
   * and hashes are required. The search path is where {@link
   * CommandBundlerAdapter#availability()} looks for a bare program name.
   */
  public static final class Builder extends ToolBuilder<Builder> {
    private final String name;
    private List<String> command;
    private String version = "unknown";
    private boolean versionSet;
    private List<String> outputs = List.of("{outDir}");
    private boolean outputsSet;

    private Builder(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("adapter name must not be blank");
      }
      this.name = name;
    }

    /** The argv to run, with placeholders; required. */
    public Builder command(List<String> argv) {
      Objects.requireNonNull(argv, "argv");
      if (command != null) {
        throw new IllegalStateException("command was already set to " + command);
      }
      if (argv.isEmpty() || argv.get(0).isEmpty()) {
        throw new IllegalArgumentException("command must name a program but was " + argv);
      }
      command = List.copyOf(argv);
      return this;
    }

    /** The tool's version, part of the cache key (default "unknown"). */
    public Builder version(String version) {
      Objects.requireNonNull(version, "version");
      if (versionSet) {
        throw new IllegalStateException("version was already set to " + this.version);
      }
      this.version = version;
      versionSet = true;
      return this;
    }

    /** Files or directories the command writes, relative to the working directory. */
    public Builder outputs(List<String> paths) {
      Objects.requireNonNull(paths, "paths");
      if (outputsSet) {
        throw new IllegalStateException("outputs were already set to " + outputs);
      }
      outputs = List.copyOf(paths);
      outputsSet = true;
      return this;
    }

    public CommandBundlerAdapter build() {
      if (command == null) {
        throw new IllegalStateException("command was not set: call command(List)");
      }
      return new CommandBundlerAdapter(this, settings());
    }
  }
}
