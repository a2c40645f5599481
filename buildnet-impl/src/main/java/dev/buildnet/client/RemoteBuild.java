package dev.buildnet.client;


import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.transport.Session;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A build submitted to a master with {@link RemoteClient#submit} or {@link RemoteClient#newBuild}:
 * its id, its progress, and the result the master reports when it ends.
 *
 * <h2>Threads</h2>
 *
 * Listeners and the completion of {@link #result()} run on the client's event executor, one at a
 * time and in the order the master sent them: every event and progress report of the build is
 * delivered before its result completes. {@link #cancel()} blocks for one round trip.
 *
 * <h2>Connection loss</h2>
 *
 * The master reports a build on the connection that submitted it. If that connection drops,
 * {@link #result()} completes exceptionally with a {@link dev.buildnet.api.BuildNetException}
 * that says so; the build itself keeps running on the master (a client's disconnect does not
 * cancel it) and can still be cancelled by id, or watched with {@link RemoteClient#subscribe}.
 *
 * @since 0.1
 */
public final class RemoteBuild {
  /**
   * A progress report: {@code completed} of {@code total} targets have finished, the last being
   * {@code target} with final status {@code status} ({@code built}, {@code cached}, {@code
   * failed}, {@code skipped} or {@code cancelled}).
   */
  public record Progress(long completed, long total, String target, String status) {}

  private final RemoteBuilds owner;
  private final String buildId;
  private final List<String> targets;
  final Session connection;
  final Consumer<Progress> onProgress;
  final boolean logs;
  final long startedNanos = System.nanoTime();
  final CompletableFuture<RemoteBuildResult> result = new CompletableFuture<>();
  final java.util.LinkedHashMap<String, String> statuses = new java.util.LinkedHashMap<>(); // reader thread
  volatile RemoteSubscription events;
  private volatile Progress progress;

  RemoteBuild(RemoteBuilds owner, String buildId, List<String> targets, Session connection,
      Consumer<Progress> onProgress, boolean logs) {
    this.logs = logs;
    this.owner = owner;
    this.buildId = buildId;
    this.targets = targets;
    this.connection = connection;
    this.onProgress = onProgress;
    this.progress = new Progress(0, 0, null, null);
  }

  /** The build's id, chosen by this client; events and the master's history name it. */
  public String buildId() {
    return buildId;
  }

  /** The targets requested (the build also runs their dependencies). */
  public List<String> targets() {
    return targets;
  }

  /**
   * Completes when the master reports the build's end, successful or not (check {@link
   * RemoteBuildResult#success()}); exceptionally only if the connection was lost or the client
   * closed first. Each call returns a new dependent future: completing it does not affect the
   * build.
   */
  public CompletableFuture<RemoteBuildResult> result() {
    return result.copy();
  }

  /**
   * The number of the last event of this build received through {@link Request#onEvent} (or a
   * re-attach), in the build's own numbering: pass it to {@link RemoteClient#attach} after a lost
   * connection to get the events missed since, and the result. 0 if none was received (then a
   * re-attach replays all the master keeps).
   *
   * @since 0.1
   */
  public long lastEventSeq() {
    RemoteSubscription s = events;
    return s == null ? 0 : s.lastSeq();
  }

  /** Whether this build's events include log lines (a re-attach should ask the same). */
  public boolean logs() {
    return logs;
  }

  /** The latest progress report received ({@code 0/0} before the first). */
  public Progress progress() {
    return progress;
  }

  void progressed(Progress p) {
    progress = p;
  }

  /**
   * Asks the master to cancel the build: running commands are killed, queued targets dropped, and
   * {@link #result()} then completes with a failed result whose {@link
   * RemoteBuildResult#cancelled()} is true. Blocks for one round trip.
   *
   * @return false if the build is no longer running on the master (it has ended)
   */
  public boolean cancel() {
    return owner.cancel(buildId);
  }

  @Override
  public String toString() {
    return "RemoteBuild[" + buildId + " " + targets + (result.isDone() ? ", done]" : "]");
  }

  /**
   * Describes a build to submit; from {@link RemoteClient#newBuild}. Each setter may be called
   * once; {@link #submit()} sends it.
   */
  public static final class Request {
    private final RemoteBuilds owner;
    private final List<String> targets;
    private Boolean keepGoing;
    private String buildId;
    private Boolean logs;
    private Consumer<BuildEvent> onEvent;
    private Consumer<Progress> onProgress;
    private Boolean force;
    private java.util.Map<String, String> env;
    private java.time.Duration timeout;

    Request(RemoteBuilds owner, List<String> targets) {
      this.owner = owner;
      Objects.requireNonNull(targets, "targets");
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("name at least one target to build");
      }
      List<String> copy = new ArrayList<>(targets.size());
      for (String t : targets) {
        if (t == null || t.isEmpty()) {
          throw new IllegalArgumentException("target names must not be empty: " + targets);
        }
        copy.add(t);
      }
      this.targets = List.copyOf(copy);
    }

    /** Keep building what does not depend on a failed target; false by default. */
    public Request keepGoing(boolean keepGoing) {
      once(this.keepGoing, "keepGoing");
      this.keepGoing = keepGoing;
      return this;
    }

    /** The build's id; a random UUID by default. It must not have been used on the master. */
    public Request buildId(String id) {
      once(this.buildId, "buildId");
      if (id == null || id.isEmpty()) {
        throw new IllegalArgumentException("buildId must not be empty");
      }
      this.buildId = id;
      return this;
    }

    /**
     * Receives the build's events (lifecycle, and log lines if {@link #logs}), from its start:
     * the client subscribes before it submits, so none is missed unless the master drops events
     * for a slow subscriber. Runs on the client's event executor; must not block for long.
     */
    public Request onEvent(Consumer<BuildEvent> listener) {
      once(this.onEvent, "onEvent");
      this.onEvent = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Include log lines in {@link #onEvent}'s events; false by default. Needs {@link #onEvent}. */
    public Request logs(boolean logs) {
      once(this.logs, "logs");
      this.logs = logs;
      return this;
    }

    /** The requested targets ignore cache hits (their dependencies do not); false by default. */
    public Request force(boolean force) {
      once(this.force, "force");
      this.force = force;
      return this;
    }

    /**
     * Values for environment variables that targets pass through from the master's environment
     * ({@code Target.Builder.envPassthrough}), for this build only: they replace the master's
     * values in those targets' commands and cache keys; other targets are unaffected. Copied.
     */
    public Request env(java.util.Map<String, String> env) {
      once(this.env, "env");
      Objects.requireNonNull(env, "env");
      env.forEach((k, v) -> {
        if (k == null || k.isEmpty() || v == null) {
          throw new IllegalArgumentException("env names must be non-empty and values non-null: " + env);
        }
      });
      this.env = java.util.Map.copyOf(env);
      return this;
    }

    /** A cap on every target's run time in this build (the smaller of it and the target's own). */
    public Request timeout(java.time.Duration timeout) {
      once(this.timeout, "timeout");
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.toMillis() < 1) {
        throw new IllegalArgumentException("timeout must be at least 1 ms but was " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /** Receives a report each time a target finishes; runs on the client's event executor. */
    public Request onProgress(Consumer<Progress> listener) {
      once(this.onProgress, "onProgress");
      this.onProgress = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Sends the build to the master and waits for it to start (one round trip, two with {@link
     * #onEvent}; each at most the client's request timeout).
     *
     * @throws dev.buildnet.api.NotStartedException ({@code REFUSED}) if the master refused it (unknown
     *     target, id taken, ...)
     * @throws dev.buildnet.api.BuildNetException if the master is unreachable or does not answer
     *     in time (the build may then have started)
     * @throws IllegalStateException if {@link #logs} was set without {@link #onEvent}, or the
     *     client is closed
     */
    public RemoteBuild submit() {
      if (Boolean.TRUE.equals(logs) && onEvent == null) {
        throw new IllegalStateException("logs(true) needs onEvent(...): log lines are events");
      }
      String id = buildId != null ? buildId : UUID.randomUUID().toString();
      return owner.submit(id, targets, Boolean.TRUE.equals(keepGoing), Boolean.TRUE.equals(logs),
          onEvent, onProgress, Boolean.TRUE.equals(force), env,
          timeout == null ? null : timeout.toMillis());
    }

    private static void once(Object current, String name) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set to " + current);
      }
    }
  }
}
