package dev.buildnet.api.build;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a {@link dev.buildnet.api.bundle.BundlerAdapter} needs to build one target.
 *
 * @param buildId the build this work belongs to
 * @param target the target's name
 * @param workspace the workspace root (absolute)
 * @param workingDirectory where the tool runs (absolute, inside the workspace)
 * @param entrypoints entry files, relative to {@code workingDirectory}
 * @param outDir where outputs go (absolute, inside the workspace)
 * @param environment the tool's complete environment
 * @param options adapter-specific options (e.g. {@code minify}, {@code format}, {@code target})
 * @param timeout how long the tool may run; null for no limit
 * @since 0.1
 */
public record BuildContext(
    String buildId,
    String target,
    Path workspace,
    Path workingDirectory,
    List<String> entrypoints,
    Path outDir,
    Map<String, String> environment,
    Map<String, String> options,
    Duration timeout) {

  public BuildContext {
    Objects.requireNonNull(buildId, "buildId");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(workspace, "workspace");
    Objects.requireNonNull(workingDirectory, "workingDirectory");
    Objects.requireNonNull(outDir, "outDir");
    entrypoints = List.copyOf(entrypoints);
    environment = Map.copyOf(environment);
    options = Map.copyOf(options);
  }
}
