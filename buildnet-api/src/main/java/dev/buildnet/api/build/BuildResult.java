package dev.buildnet.api.build;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of building something: one bundler run, one target, or a whole build request.
 *
 * @param success true if every part succeeded
 * @param buildId the build this belongs to
 * @param duration wall time
 * @param artifacts the files produced (for a request: the outputs of the requested targets)
 * @param errors what went wrong, located where the tool said where
 * @param warnings non-fatal diagnostics, as the tool printed them
 * @param metrics cost and cache figures
 * @since 0.1
 */
public record BuildResult(
    boolean success,
    String buildId,
    Duration duration,
    List<Artifact> artifacts,
    List<BuildError> errors,
    List<String> warnings,
    BuildMetrics metrics) {

  public BuildResult {
    Objects.requireNonNull(buildId, "buildId");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(metrics, "metrics");
    artifacts = List.copyOf(artifacts);
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }
}
