package dev.buildnet.bundle;

import dev.buildnet.internal.bundle.Artifacts;
import dev.buildnet.internal.bundle.EsbuildDiagnostics;
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
public final class EsbuildAdapter extends NodeBundler implements BundlerAdapter {
  private EsbuildAdapter(Path workspace, ToolSettings settings) {
    super(
        "esbuild",
        workspace,
        settings,
        new ToolOptions("esbuild")
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
                Set.of("linked", "inline", "external", "both")),
        new EsbuildDiagnostics());
  }

  /** An adapter for the tools of {@code workspace}. */
  public static Builder builder(Path workspace) {
    return new Builder(workspace);
  }

  @Override
  protected List<String> arguments(List<String> entrypoints, Path outDir) {
    List<String> arguments = new ArrayList<>(entrypoints);
    arguments.addAll(
        List.of("--bundle", "--outdir=" + outDir, "--log-level=warning", "--color=false"));
    return arguments;
  }

  /**
   * Configures an {@link EsbuildAdapter}; shell and hashes are required, each setter once. The
   * search path is where to look for esbuild when the workspace has none; null to look only in
   * the workspace.
   */
  public static final class Builder extends ToolBuilder<Builder> {
    private final Path workspace;

    private Builder(Path workspace) {
      this.workspace = Objects.requireNonNull(workspace, "workspace").toAbsolutePath().normalize();
    }

    public EsbuildAdapter build() {
      return new EsbuildAdapter(workspace, settings());
    }
  }
}
