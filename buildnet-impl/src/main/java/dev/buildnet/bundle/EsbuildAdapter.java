package dev.buildnet.bundle;

import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.bundle.Availability;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Bundles with <a href="https://esbuild.github.io">esbuild</a>'s CLI:
 * {@code esbuild <entrypoints> --bundle --outdir=<outDir> --log-level=warning --color=false}
 * plus the target's options.
 *
 * <p>The binary is {@code <workspace>/node_modules/.bin/esbuild} if there is one, else the first
 * {@code esbuild} on the search path (by default this JVM's PATH). Errors and warnings are parsed
 * from esbuild's log into located {@link dev.buildnet.api.build.BuildError}s with code {@code
 * ESBUILD_ERROR}, 1-based line and character column, paths relative to the workspace. Artifacts
 * are every file under {@code outDir} after a successful build, so give each target its own
 * output directory: files left there by earlier builds are reported too.
 *
 * <p>Options: {@code minify}, {@code splitting} ({@code true}/{@code false}); {@code format}
 * ({@code iife}, {@code cjs}, {@code esm}); {@code platform} ({@code browser}, {@code node},
 * {@code neutral}); {@code target} (esbuild's list, e.g. {@code es2020,chrome100}); {@code
 * sourcemap} ({@code true}, {@code false}, {@code linked}, {@code inline}, {@code external},
 * {@code both}). Any other name is rejected with {@link IllegalArgumentException}.
 *
 * <p>Thread-safe; {@link #build} blocks until esbuild exits, and interrupting the calling thread
 * stops esbuild.
 *
 * @since 0.1
 */
public final class EsbuildAdapter implements BundlerAdapter {
  private static final String NAME = "esbuild";

  private final NodeTool tool;
  private final ToolRunner runner;
  private final ToolOptions options;

  private EsbuildAdapter(Builder b) {
    this.tool = new NodeTool(NAME, b.workspace, b.searchPath, b.shell);
    this.runner = new ToolRunner(NAME, b.shell, b.hashes);
    this.options =
        new ToolOptions(NAME)
            .bool("minify", "--minify")
            .bool("splitting", "--splitting")
            .choice("format", "--format", Set.of("iife", "cjs", "esm"))
            .choice("platform", "--platform", Set.of("browser", "node", "neutral"))
            .matching(
                "target",
                "--target",
                Pattern.compile("[A-Za-z0-9.]+(,[A-Za-z0-9.]+)*"),
                "a comma-separated list such as es2020,chrome100")
            .boolOrChoice(
                "sourcemap",
                "--sourcemap",
                List.of("--sourcemap"),
                Set.of("linked", "inline", "external", "both"));
  }

  /** An adapter for the tools of {@code workspace}. */
  public static Builder builder(Path workspace) {
    return new Builder(workspace);
  }

  @Override
  public String name() {
    return NAME;
  }

  /** {@code esbuild --version}, run once per binary; "unknown" if there is none or it fails. */
  @Override
  public String version() {
    return tool.version();
  }

  @Override
  public Availability availability() {
    return tool.availability();
  }

  /** The option names {@link #build} accepts. */
  public Set<String> supportedOptions() {
    return options.names();
  }

  /**
   * @throws IllegalArgumentException for an unknown option, a bad option value, an entry point
   *     that looks like a flag, or an {@code outDir} outside the workspace
   * @throws dev.buildnet.api.BuildNetException if esbuild is not installed or cannot be started
   */
  @Override
  public BuildResult build(BuildContext context) {
    long start = System.nanoTime();
    Objects.requireNonNull(context, "context");
    ToolOptions.checkEntrypoints(NAME, context.entrypoints());
    Path outDir = Artifacts.requireInside(context.workspace(), context.outDir(), "outDir");
    List<String> flags = options.flags(context.options());
    List<String> argv = new ArrayList<>();
    argv.add(tool.requireBinary().toString());
    argv.addAll(context.entrypoints());
    argv.add("--bundle");
    argv.add("--outdir=" + outDir);
    argv.add("--log-level=warning");
    argv.add("--color=false");
    argv.addAll(flags);
    return runner.run(
        start,
        context,
        argv,
        new EsbuildDiagnostics(),
        result -> new ToolRunner.OutputCheck(List.of(outDir), List.of()));
  }

  /** Configures an {@link EsbuildAdapter}; shell and hashes are required, each setter once. */
  public static final class Builder {
    private final Path workspace;
    private ShellProvider shell;
    private HashProvider hashes;
    private String searchPath = System.getenv("PATH");
    private boolean searchPathSet;

    private Builder(Path workspace) {
      this.workspace = Objects.requireNonNull(workspace, "workspace").toAbsolutePath().normalize();
    }

    /** Runs esbuild. */
    public Builder shell(ShellProvider shell) {
      Objects.requireNonNull(shell, "shell");
      if (this.shell != null) {
        throw new IllegalStateException("shell was already set to " + this.shell);
      }
      this.shell = shell;
      return this;
    }

    /** Digests the artifacts. */
    public Builder hashes(HashProvider hashes) {
      Objects.requireNonNull(hashes, "hashes");
      if (this.hashes != null) {
        throw new IllegalStateException("hashes was already set to " + this.hashes);
      }
      this.hashes = hashes;
      return this;
    }

    /**
     * Where to look for esbuild when the workspace has none, in PATH syntax (default: this JVM's
     * PATH); null to look only in the workspace.
     */
    public Builder searchPath(String searchPath) {
      if (searchPathSet) {
        throw new IllegalStateException("search path was already set to " + this.searchPath);
      }
      this.searchPath = searchPath;
      searchPathSet = true;
      return this;
    }

    public EsbuildAdapter build() {
      if (shell == null) {
        throw new IllegalStateException("shell was not set: call shell(ShellProvider)");
      }
      if (hashes == null) {
        throw new IllegalStateException("hashes was not set: call hashes(HashProvider)");
      }
      return new EsbuildAdapter(this);
    }
  }
}
