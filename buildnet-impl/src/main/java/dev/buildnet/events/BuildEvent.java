package dev.buildnet.events;

import dev.buildnet.api.exec.OutputListener;
import java.time.Instant;
import java.util.Objects;

/**
 * One thing that happened on a BuildNet: what the master's EVENT stream, the HTTP API's live
 * events and dashboards show. Fields that do not apply to a kind are null.
 *
 * @param kind what happened
 * @param buildId the build; null for worker events
 * @param at when it happened
 * @param target the target, for target and log events
 * @param status for {@code TARGET_FINISHED} the target's status ({@code built}, {@code cached},
 *     {@code failed}, {@code skipped}, {@code cancelled}); for {@code BUILD_FINISHED} {@code
 *     succeeded}, {@code failed} or {@code cancelled}
 * @param stream for {@code LOG}
 * @param line for {@code LOG}: one line without its newline
 * @param worker for worker events the worker's id; for {@code TARGET_STARTED} the worker running
 *     the attempt, or null when it runs locally
 * @param attempt for {@code TARGET_STARTED}, from 1; 0 otherwise
 * @since 0.1
 */
public record BuildEvent(
    Kind kind,
    String buildId,
    Instant at,
    String target,
    String status,
    OutputListener.Stream stream,
    String line,
    String worker,
    int attempt) {

  /** What happened; the wire names are the protocol's EVENT {@code kind}s. */
  public enum Kind {
    BUILD_STARTED("build_started"),
    TARGET_STARTED("target_started"),
    LOG("log"),
    TARGET_FINISHED("target_finished"),
    BUILD_FINISHED("build_finished"),
    WORKER_JOINED("worker_joined"),
    WORKER_LEFT("worker_left");

    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    /** The name in the protocol's EVENT and the HTTP API's JSON, e.g. {@code target_started}. */
    public String wireName() {
      return wireName;
    }

    /** Whether the event belongs to a build (worker events do not). */
    public boolean aboutBuild() {
      return this != WORKER_JOINED && this != WORKER_LEFT;
    }
  }

  public BuildEvent {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(at, "at");
    if (kind.aboutBuild()) {
      Objects.requireNonNull(buildId, "buildId");
    }
    if (kind == Kind.LOG) {
      Objects.requireNonNull(stream, "stream");
      Objects.requireNonNull(line, "line");
    }
  }
}
