package dev.buildnet.internal.engine;

import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import java.time.Duration;
import java.util.List;

/**
 * Builds a target's FAILED outcome. Most failures know only a few of its facts (an input failed
 * before anything ran; a command ran and exited non-zero), so each sets what it knows and the
 * rest keep their defaults: no attempt, exit code -1, no phases, no files checked, no memory.
 *
 * <pre>{@code
 * return FailedOutcome.of(node, queueWait, start).attempts(2).exitCode(1).because("EXIT_CODE", why);
 * }</pre>
 */
final class FailedOutcome {
  private final Node node;
  private final Duration queueWait;
  private final long start;
  private int attempts;
  private int exitCode = -1;
  private BuildMetrics.Phases phases = BuildMetrics.Phases.ZERO;
  private long filesChecked;
  private long peakMemoryBytes;

  private FailedOutcome(Node node, Duration queueWait, long start) {
    this.node = node;
    this.queueWait = queueWait;
    this.start = start;
  }

  /**
   * A failure of {@code node}, which waited {@code queueWait} for a site and began its work at
   * {@code start} ({@link System#nanoTime}).
   */
  static FailedOutcome of(Node node, Duration queueWait, long start) {
    return new FailedOutcome(node, queueWait, start);
  }

  FailedOutcome attempts(int attempts) {
    this.attempts = attempts;
    return this;
  }

  FailedOutcome exitCode(int exitCode) {
    this.exitCode = exitCode;
    return this;
  }

  FailedOutcome phases(BuildMetrics.Phases phases) {
    this.phases = phases;
    return this;
  }

  FailedOutcome filesChecked(long filesChecked) {
    this.filesChecked = filesChecked;
    return this;
  }

  FailedOutcome peakMemoryBytes(long peakMemoryBytes) {
    this.peakMemoryBytes = peakMemoryBytes;
    return this;
  }

  /** The outcome with one error, whose message is also the reason. */
  TargetOutcome because(String code, String message) {
    return because(List.of(BuildError.of(code, message)), message);
  }

  /**
   * The outcome with {@code errors} and {@code reason}. Its duration ends now; its key is the
   * node's, if it was computed.
   */
  TargetOutcome because(List<BuildError> errors, String reason) {
    Duration total = Duration.ofNanos(System.nanoTime() - start);
    // A failed run is a miss that would have been stored, had the target succeeded.
    BuildMetrics metrics = new BuildMetrics(queueWait, total, phases,
        new BuildMetrics.Cache(filesChecked, 0, node.target.cacheable() ? 1 : 0, Duration.ZERO),
        new BuildMetrics.Resources(peakMemoryBytes, 0, 0, 0));
    return new TargetOutcome(node.name(), Status.FAILED, reason,
        node.key == null ? null : node.key.toString(), exitCode, attempts, total, List.of(),
        errors, metrics);
  }
}
