package dev.buildnet.internal.master;

import java.util.Objects;

/**
 * A change in a {@link MasterServer}'s set of workers.
 *
 * @param kind what happened
 * @param worker the worker as it was at that moment
 * @param reason for people, e.g. "connection closed by the worker"; empty for {@link Kind#JOINED}
 * @since 0.1
 */
public record WorkerEvent(Kind kind, WorkerInfo worker, String reason) {
  public WorkerEvent {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(worker, "worker");
    Objects.requireNonNull(reason, "reason");
  }

  /** What happened to the worker. */
  public enum Kind {
    /** It connected, authenticated and was registered. */
    JOINED,
    /** Its connection ended (closed by either side, or replaced by a newer one with its id). */
    LEFT,
    /** It was silent past the heartbeat timeout and was disconnected. */
    DEAD
  }
}
