package dev.buildnet.api.build;

import dev.buildnet.api.exec.OutputListener;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One thing that happened on a BuildNet: what {@link BuildListener}s receive, what the build
 * history keeps and replays, and what the protocol's EVENT messages, the HTTP API's live events
 * and the peer-event channel carry. One sealed hierarchy, so every consumer sees the same events
 * with the same spellings: {@link Kind#wireName()}, {@link TargetOutcome.Status#wireName()} and
 * {@link BuildStatus#wireName()} are the words of docs/PROTOCOL.md and docs/HTTP.md.
 *
 * <p>Java 17 has no pattern matching for {@code switch}: switch on {@link #kind()} and cast, or
 * use {@code instanceof} patterns.
 *
 * <p>Events that arrive over the network carry only what the wire carries: a {@link
 * TargetStarted} from a remote master has {@code attempt} 0 and no worker, a {@link BuildStarted}
 * no targets, a {@link TargetFinished} no outcome and a {@link BuildFinished} no result.
 *
 * @since 0.3
 */
public sealed interface BuildEvent {

  /** The build; null for worker events. */
  String buildId();

  /** When it happened. */
  Instant at();

  /** Which of the records this is. */
  Kind kind();

  /** What happened; {@link #wireName()} is the EVENT {@code kind} and the JSON {@code kind}. */
  enum Kind {
    BUILD_STARTED("build_started"),
    TARGET_STARTED("target_started"),
    /** Listener-only: not in EVENT messages or the HTTP streams (the build's state shows it). */
    TARGET_WAITING("target_waiting"),
    LOG("log"),
    TARGET_FINISHED("target_finished"),
    BUILD_FINISHED("build_finished"),
    WORKER_JOINED("worker_joined"),
    WORKER_LEFT("worker_left");

    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    /** The spelling in the protocol and the HTTP API's JSON, e.g. {@code target_started}. */
    public String wireName() {
      return wireName;
    }

    /** The kind spelled {@code name}, or null for an unknown spelling. */
    public static Kind ofWireName(String name) {
      for (Kind k : values()) {
        if (k.wireName.equals(name)) {
          return k;
        }
      }
      return null;
    }

    /** Whether the event belongs to a build (worker events do not). */
    public boolean aboutBuild() {
      return this != WORKER_JOINED && this != WORKER_LEFT;
    }
  }

  /**
   * A build was accepted.
   *
   * @param targets every target it will consider, in dependency order (empty when not known)
   * @param requested the targets it was asked for, in the order asked (empty when not known)
   * @param origin who or what submitted it; null when not known (an event from the network)
   */
  record BuildStarted(
      String buildId, Instant at, List<String> targets, List<String> requested, BuildOrigin origin)
      implements BuildEvent {
    public BuildStarted {
      Objects.requireNonNull(buildId, "buildId");
      Objects.requireNonNull(at, "at");
      targets = List.copyOf(targets);
      requested = List.copyOf(requested);
    }

    /** A start whose requested targets and origin are not known. */
    public BuildStarted(String buildId, Instant at, List<String> targets) {
      this(buildId, at, targets, List.of(), null);
    }

    @Override
    public Kind kind() {
      return Kind.BUILD_STARTED;
    }
  }

  /**
   * A target attempt began its work (cache lookup, then possibly a run).
   *
   * @param attempt from 1; 0 when not known
   * @param worker the remote worker running the attempt; null when it runs locally (or not known)
   */
  record TargetStarted(String buildId, Instant at, String target, int attempt, String worker)
      implements BuildEvent {
    public TargetStarted {
      Objects.requireNonNull(buildId, "buildId");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(target, "target");
      if (attempt < 0) {
        throw new IllegalArgumentException("attempt must not be negative: " + attempt);
      }
    }

    @Override
    public Kind kind() {
      return Kind.TARGET_STARTED;
    }
  }

  /**
   * A ready target waits: no connected worker (nor this machine) can run it.
   *
   * @param reason what it needs, for people
   */
  record TargetWaiting(String buildId, Instant at, String target, String reason)
      implements BuildEvent {
    public TargetWaiting {
      Objects.requireNonNull(buildId, "buildId");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(reason, "reason");
    }

    @Override
    public Kind kind() {
      return Kind.TARGET_WAITING;
    }
  }

  /**
   * A line of a target's output.
   *
   * @param line one line without its newline
   * @param replayed true when it comes from the cache rather than a live process (not carried
   *     over the network: false there)
   */
  record TargetLog(
      String buildId,
      Instant at,
      String target,
      OutputListener.Stream stream,
      String line,
      boolean replayed)
      implements BuildEvent {
    public TargetLog {
      Objects.requireNonNull(buildId, "buildId");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(stream, "stream");
      Objects.requireNonNull(line, "line");
    }

    @Override
    public Kind kind() {
      return Kind.LOG;
    }
  }

  /**
   * A target reached its final status.
   *
   * @param outcome everything about it; null when not known (an event from the network or a
   *     replay), {@code status} is always there
   */
  record TargetFinished(
      String buildId, Instant at, String target, TargetOutcome.Status status, TargetOutcome outcome)
      implements BuildEvent {
    public TargetFinished {
      Objects.requireNonNull(buildId, "buildId");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(status, "status");
      if (outcome != null && (outcome.status() != status || !outcome.target().equals(target))) {
        throw new IllegalArgumentException("the outcome is of " + outcome.target() + " "
            + outcome.status() + ", not of " + target + " " + status);
      }
    }

    /** The event for {@code outcome}, with its target and status. */
    public static TargetFinished of(String buildId, Instant at, TargetOutcome outcome) {
      return new TargetFinished(buildId, at, outcome.target(), outcome.status(), outcome);
    }

    @Override
    public Kind kind() {
      return Kind.TARGET_FINISHED;
    }
  }

  /**
   * The build ended.
   *
   * @param result what its future completes with; null when not known (an event from the network
   *     or a replay), {@code status} is always there
   */
  record BuildFinished(String buildId, Instant at, BuildStatus status, BuildResult result)
      implements BuildEvent {
    public BuildFinished {
      Objects.requireNonNull(buildId, "buildId");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(status, "status");
      if (status == BuildStatus.RUNNING) {
        throw new IllegalArgumentException("a finished build is not running");
      }
    }

    /** The event for {@code result}, with its status ({@link BuildStatus#of}). */
    public static BuildFinished of(Instant at, BuildResult result) {
      return new BuildFinished(result.buildId(), at, BuildStatus.of(result), result);
    }

    @Override
    public Kind kind() {
      return Kind.BUILD_FINISHED;
    }
  }

  /** A worker connected to this master. */
  record WorkerJoined(Instant at, String worker) implements BuildEvent {
    public WorkerJoined {
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(worker, "worker");
    }

    @Override
    public String buildId() {
      return null;
    }

    @Override
    public Kind kind() {
      return Kind.WORKER_JOINED;
    }
  }

  /** A worker left this master (disconnected, declared dead, or replaced). */
  record WorkerLeft(Instant at, String worker) implements BuildEvent {
    public WorkerLeft {
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(worker, "worker");
    }

    @Override
    public String buildId() {
      return null;
    }

    @Override
    public Kind kind() {
      return Kind.WORKER_LEFT;
    }
  }
}
