package dev.buildnet.api.build;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What happened to one target in a build.
 *
 * @param target the target's name
 * @param status how it ended
 * @param reason a sentence for people: why it failed or was skipped, or where it came from
 * @param key its cache key ({@code algorithm:hex}), or null if it was never computed
 * @param exitCode the command's exit code, or -1 if no command ran
 * @param attempts how many times it ran (0 when cached or skipped)
 * @param duration wall time spent on it, queue wait excluded
 * @param artifacts the files it produced or restored
 * @param errors what went wrong
 * @param metrics per-target cost and cache figures
 * @since 0.1
 */
public record TargetOutcome(
    String target,
    Status status,
    String reason,
    String key,
    int exitCode,
    int attempts,
    Duration duration,
    List<Artifact> artifacts,
    List<BuildError> errors,
    BuildMetrics metrics) {

  /** How a target ended. */
  public enum Status {
    /** It ran and succeeded. */
    BUILT,
    /** Its outputs came from the cache; nothing ran. */
    CACHED,
    /** It ran (every attempt) and failed, or could not be run. */
    FAILED,
    /** It did not run because a dependency failed or the build stopped first. */
    SKIPPED,
    /** The build was cancelled while it ran or waited. */
    CANCELLED;

    /** BUILT or CACHED. */
    public boolean succeeded() {
      return this == BUILT || this == CACHED;
    }

    /**
     * {@code built}, {@code cached}, {@code failed}, {@code skipped} or {@code cancelled}: the
     * spelling everywhere a target's final status appears (protocol, HTTP JSON, dashboard).
     */
    public String wireName() {
      return wireName;
    }

    /**
     * Spelled once: the build history keeps a target's status for every build it keeps, and a
     * new string per target per build was a visible part of what a null build left behind.
     */
    private final String wireName = name().toLowerCase(java.util.Locale.ROOT);

    /** The status spelled {@code name}, or null for an unknown spelling. */
    public static Status ofWireName(String name) {
      for (Status s : values()) {
        if (s.wireName().equals(name)) {
          return s;
        }
      }
      return null;
    }
  }

  public TargetOutcome {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(metrics, "metrics");
    artifacts = List.copyOf(artifacts);
    errors = List.copyOf(errors);
  }
}
