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

/**
 * Bundles with <a href="https://bun.sh/docs/bundler">Bun</a>:
 * {@code bun build <entrypoints> --outdir=<outDir>} plus the target's options.
 *
 * <p>The binary is {@code <workspace>/node_modules/.bin/bun} if there is one, else the first
 * {@code bun} on the search path (by default this JVM's PATH). Errors and warnings are parsed
 * from Bun's log into located {@link dev.buildnet.api.build.BuildError}s with code {@code
 * BUN_ERROR}, 1-based line and column, paths relative to the workspace. Artifacts are every file
 * under {@code outDir} after a successful build (Bun's metafile omits source maps), so give each
 * target its own output directory: files left there by earlier builds are reported too.
 *
 * <p>Options: {@code minify}, {@code splitting} ({@code true}/{@code false}); {@code format}
 * ({@code esm}, {@code cjs}, {@code iife}); {@code target} ({@code browser}, {@code bun}, {@code
 * node}); {@code sourcemap} ({@code true} meaning {@code linked}, {@code false}, {@code linked},
 * {@code inline}, {@code external}, {@code none}). Any other name is rejected with {@link
 * IllegalArgumentException}.
 *
 * <p>Thread-safe; {@link #build} blocks until Bun exits, and interrupting the calling thread stops
 * Bun.
 *
 * @since 0.1
 */
public final class BunAdapter implements BundlerAdapter {
  private static final String NAME = "bun";

  private final NodeTool tool;
  private final ToolRunner runner;
  private final ToolOptions options;

  private BunAdapter(Builder b) {
    this.tool = new NodeTool(NAME, b.workspace, b.searchPath, b.shell);
    this.runner = new ToolRunner(NAME, b.shell, b.hashes);
    this.options =
        new ToolOptions(NAME)
            .bool("minify", "--minify")
            .bool("splitting", "--splitting")
            .choice("format", "--format", Set.of("esm", "cjs", "iife"))
            .choice("target", "--target", Set.of("browser", "bun", "node"))
            .boolOrChoice(
                "sourcemap",
                "--sourcemap",
                List.of("--sourcemap=linked"),
                Set.of("linked", "inline", "external", "none"));
  }

  /** An adapter for the tools of {@code workspace}. */
  public static Builder builder(Path workspace) {
    return new Builder(workspace);
  }

  @Override
  public String name() {
    return NAME;
  }

  /** {@code bun --version}, run once per binary; "unknown" if there is none or it fails. */
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
   * @throws dev.buildnet.api.BuildNetException if bun is not installed or cannot be started
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
    argv.add("build");
    argv.addAll(context.entrypoints());
    argv.add("--outdir=" + outDir);
    argv.addAll(flags);
    return runner.run(
        start,
        context,
        argv,
        new BunDiagnostics(),
        result -> new ToolRunner.OutputCheck(List.of(outDir), List.of()));
  }

  /** Configures a {@link BunAdapter}; shell and hashes are required, each setter once. */
  public static final class Builder {
    private final Path workspace;
    private ShellProvider shell;
    private HashProvider hashes;
    private String searchPath = System.getenv("PATH");
    private boolean searchPathSet;

    private Builder(Path workspace) {
      this.workspace = Objects.requireNonNull(workspace, "workspace").toAbsolutePath().normalize();
    }

    /** Runs bun. */
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
     * Where to look for bun when the workspace has none, in PATH syntax (default: this JVM's
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

    public BunAdapter build() {
      if (shell == null) {
        throw new IllegalStateException("shell was not set: call shell(ShellProvider)");
      }
      if (hashes == null) {
        throw new IllegalStateException("hashes was not set: call hashes(HashProvider)");
      }
      return new BunAdapter(this);
    }
  }
}
