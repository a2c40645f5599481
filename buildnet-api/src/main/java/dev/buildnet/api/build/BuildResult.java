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
 * @param targets per-target outcomes, in dependency order (empty for a single bundler run)
 * @since 0.1
 */
public record BuildResult(
    boolean success,
    String buildId,
    Duration duration,
    List<Artifact> artifacts,
    List<BuildError> errors,
    List<String> warnings,
    BuildMetrics metrics,
    List<TargetOutcome> targets) {

  public BuildResult {
    Objects.requireNonNull(buildId, "buildId");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(metrics, "metrics");
    artifacts = List.copyOf(artifacts);
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
    targets = List.copyOf(targets);
  }

  /** A result with no per-target outcomes, as a bundler run returns. */
  public BuildResult(
      boolean success,
      String buildId,
      Duration duration,
      List<Artifact> artifacts,
      List<BuildError> errors,
      List<String> warnings,
      BuildMetrics metrics) {
    this(success, buildId, duration, artifacts, errors, warnings, metrics, List.of());
  }

  /** The outcome of {@code target}, if it was part of this build. */
  public java.util.Optional<TargetOutcome> target(String target) {
    return targets.stream().filter(t -> t.target().equals(target)).findFirst();
  }

  /** How many targets ended with {@code status}. */
  public long count(TargetOutcome.Status status) {
    return targets.stream().filter(t -> t.status() == status).count();
  }
}
