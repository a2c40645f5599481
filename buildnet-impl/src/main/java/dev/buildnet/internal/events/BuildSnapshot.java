package dev.buildnet.internal.events;

import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildResult;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A build as {@link BuildHistory} knows it at one moment: immutable, safe to share.
 *
 * @param id the build id
 * @param status {@code running}, {@code succeeded}, {@code failed} or {@code cancelled}
 * @param startedAt when it was accepted
 * @param finishedAt when it ended; null while running
 * @param targets every target the build considers, in dependency order
 * @param result the result once finished (metrics, errors, artifacts); null while running
 * @param requested the targets the build was asked for, in the order asked ({@code targets} is
 *     their closure)
 * @param origin who or what submitted it
 * @since 0.1
 */
public record BuildSnapshot(
    String id,
    String status,
    Instant startedAt,
    Instant finishedAt,
    List<TargetSnapshot> targets,
    BuildResult result,
    List<String> requested,
    BuildOrigin origin) {

  public BuildSnapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(origin, "origin");
    targets = List.copyOf(targets);
    requested = List.copyOf(requested);
  }

  /** Whether the build has ended. */
  public boolean finished() {
    return finishedAt != null;
  }

  /** Targets that reached a final status. */
  public int completed() {
    return (int) targets.stream().filter(TargetSnapshot::finished).count();
  }

  /**
   * One target of a build.
   *
   * @param name the target
   * @param status {@code pending}, {@code waiting} (for a worker that can run it), {@code running},
   *     or its final status ({@code built}, {@code cached}, {@code failed}, {@code skipped},
   *     {@code cancelled})
   * @param note why it waits, while {@code waiting}; otherwise null
   * @param attempt the latest attempt, 0 before the first
   * @param worker the worker running (or that ran) the latest attempt; null when local
   * @param startedAt when the first attempt began; null while pending
   * @param finishedAt when it reached its final status; null before
   * @param logLines lines of log kept for it (within the history's line and byte limits)
   */
  public record TargetSnapshot(
      String name,
      String status,
      String note,
      int attempt,
      String worker,
      Instant startedAt,
      Instant finishedAt,
      int logLines) {

    public TargetSnapshot {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(status, "status");
    }

    /** Whether the target reached its final status. */
    public boolean finished() {
      return finishedAt != null;
    }
  }
}
