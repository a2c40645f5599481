package dev.buildnet.bundle;

import dev.buildnet.internal.bundle.Artifacts;
import dev.buildnet.internal.bundle.BunDiagnostics;
import dev.buildnet.internal.bundle.NodeBundler;
import dev.buildnet.internal.bundle.ToolBuilder;
import dev.buildnet.internal.bundle.ToolOptions;
import dev.buildnet.internal.bundle.ToolSettings;

import dev.buildnet.api.bundle.BundlerAdapter;
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
public final class BunAdapter extends NodeBundler implements BundlerAdapter {
  private BunAdapter(Path workspace, ToolSettings settings) {
    super(
        "bun",
        workspace,
        settings,
        new ToolOptions("bun")
            .bool("minify", "--minify")
            .bool("splitting", "--splitting")
            .choice("format", "--format", Set.of("esm", "cjs", "iife"))
            .choice("target", "--target", Set.of("browser", "bun", "node"))
            .boolOrChoice(
                "sourcemap",
                "--sourcemap",
                List.of("--sourcemap=linked"),
                Set.of("linked", "inline", "external", "none")),
        new BunDiagnostics());
  }

  /** An adapter for the tools of {@code workspace}. */
  public static Builder builder(Path workspace) {
    return new Builder(workspace);
  }

  @Override
  protected List<String> arguments(List<String> entrypoints, Path outDir) {
    List<String> arguments = new ArrayList<>();
    arguments.add("build");
    arguments.addAll(entrypoints);
    arguments.add("--outdir=" + outDir);
    return arguments;
  }

  /**
   * Configures a {@link BunAdapter}; shell and hashes are required, each setter once. The search
   * path is where to look for bun when the workspace has none; null to look only in the
   * workspace.
   */
  public static final class Builder extends ToolBuilder<Builder> {
    private final Path workspace;

    private Builder(Path workspace) {
      this.workspace = Objects.requireNonNull(workspace, "workspace").toAbsolutePath().normalize();
    }

    public BunAdapter build() {
      return new BunAdapter(workspace, settings());
    }
  }
}
