package dev.buildnet.client;


import dev.buildnet.api.build.Artifact;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a build submitted to a master ended, as its BUILD_COMPLETED or BUILD_FAILED said.
 *
 * @param success whether every target succeeded (BUILD_COMPLETED)
 * @param buildId the build
 * @param duration for a successful build the master's wall time; for a failed one the time this
 *     client waited (BUILD_FAILED carries no duration)
 * @param outputs the files the requested targets produced, with digests of the master's blob
 *     store: download them with {@link RemoteBlobs#download}; empty when the build failed
 * @param cacheHits targets restored from the cache (0 when the build failed)
 * @param executed targets whose command ran (0 when the build failed)
 * @param error what failed, for people; null on success
 * @param failedTargets the targets that failed (not those skipped or cancelled); empty on success
 * @param targets every target of the build with its final status ({@code built}, {@code cached},
 *     {@code failed}, {@code skipped}, {@code cancelled}), in the order they finished
 * @since 0.1
 */
public record RemoteBuildResult(
    boolean success,
    String buildId,
    Duration duration,
    List<Artifact> outputs,
    long cacheHits,
    long executed,
    String error,
    List<String> failedTargets,
    Map<String, String> targets) {

  public RemoteBuildResult {
    Objects.requireNonNull(buildId, "buildId");
    Objects.requireNonNull(duration, "duration");
    outputs = List.copyOf(outputs);
    failedTargets = List.copyOf(failedTargets);
    targets = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(targets));
  }

  /** Whether the build was cancelled (some target ended {@code cancelled}). */
  public boolean cancelled() {
    return targets.containsValue("cancelled");
  }
}
