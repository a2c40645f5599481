package dev.buildnet.events;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.events.BuildSnapshot.TargetSnapshot;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a BuildNet remembers of its builds, for those who watch it: the running and the recent
 * builds with each target's status, a bounded tail of every target's log, the connected workers,
 * and live {@link BuildEvent} subscriptions that start with a replay of the current state.
 *
 * <p>It is a {@link BuildListener}: BuildNet registers one (see {@code BuildNet.history()}), and
 * the master's EVENT stream and the HTTP module read from it. Memory is bounded: finished builds
 * beyond {@code maxBuilds} are forgotten oldest first, and each target keeps its last
 * {@code maxLogLines} lines.
 *
 * <h2>Threads</h2>
 * Thread-safe. Events are recorded and handed to subscribers under one lock, in the order they
 * happened, on the thread that reported them: a subscriber's sink must not block (queue the event
 * and return), or it stalls the build. A sink that throws is logged; its subscription stays.
 *
 * @since 0.1
 */
public final class BuildHistory implements PlacementListener {
  private static final Logger log = LoggerFactory.getLogger(BuildHistory.class);

  /** One kept log line. */
  public record LogLine(Instant at, OutputListener.Stream stream, String line) {}

  /**
   * Receives a build's events with their numbers in that build (see {@link #attach}): 1, 2, 3...
   * counting every event of the build when log lines are included, else every event but log
   * lines. Runs under the history's lock like any sink: must not block.
   */
  public interface NumberedSink {
    void accept(long seq, BuildEvent event);
  }

  /**
   * Events of a running build kept for {@link #attach} replays (log lines included); oldest
   * dropped. A finished build keeps its events but its log lines.
   */
  public static final int MAX_REPLAY_EVENTS = 10_000;

  /** A live subscription; {@link #close()} ends it and is idempotent. */
  public interface Subscription extends AutoCloseable {
    @Override
    void close();
  }

  private final Clock clock;
  private final int maxBuilds;
  private final int maxLogLines;
  private final Object lock = new Object();
  private final LinkedHashMap<String, BuildState> builds = new LinkedHashMap<>();
  private final Set<String> workers = new TreeSet<>();
  private final List<Sub> subscribers = new CopyOnWriteArrayList<>();

  /**
   * @param maxBuilds finished builds kept (running builds are always kept), at least 1
   * @param maxLogLines log lines kept per target, at least 0
   */
  public BuildHistory(Clock clock, int maxBuilds, int maxLogLines) {
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxBuilds < 1) {
      throw new IllegalArgumentException("maxBuilds must be at least 1 but was " + maxBuilds);
    }
    if (maxLogLines < 0) {
      throw new IllegalArgumentException("maxLogLines must be at least 0 but was " + maxLogLines);
    }
    this.maxBuilds = maxBuilds;
    this.maxLogLines = maxLogLines;
  }

  // ---- reading ---------------------------------------------------------------------------------

  /** Every build kept, newest first. */
  public List<BuildSnapshot> builds() {
    synchronized (lock) {
      List<BuildSnapshot> all = new ArrayList<>(builds.size());
      builds.values().forEach(b -> all.add(b.snapshot()));
      java.util.Collections.reverse(all);
      return all;
    }
  }

  /** One build, if it is running or among the recent ones kept. */
  public Optional<BuildSnapshot> build(String buildId) {
    synchronized (lock) {
      BuildState b = builds.get(buildId);
      return b == null ? Optional.empty() : Optional.of(b.snapshot());
    }
  }

  /**
   * The kept tail of a target's log in one build; empty if the build or target is unknown or it
   * logged nothing.
   */
  public List<LogLine> log(String buildId, String target) {
    synchronized (lock) {
      BuildState b = builds.get(buildId);
      TargetState t = b == null ? null : b.targets.get(target);
      return t == null ? List.of() : List.copyOf(t.log);
    }
  }

  /** The ids of the workers connected now, in order. */
  public List<String> workers() {
    synchronized (lock) {
      return List.copyOf(workers);
    }
  }

  /** How many builds are running now. */
  public int running() {
    synchronized (lock) {
      return (int) builds.values().stream().filter(b -> b.finishedAt == null).count();
    }
  }

  // ---- subscribing -----------------------------------------------------------------------------

  /**
   * Streams events to {@code sink}: first, if {@code replay}, the current state as events (the
   * connected workers, then per kept build its start, its started and finished targets, and its end
   * if it ended), then every later event, in order, with nothing lost or repeated in between.
   *
   * @param buildId only this build's events (it need not exist yet); null: every build and the
   *     worker events
   * @param logs whether to include {@link BuildEvent.Kind#LOG} events (never replayed)
   */
  public Subscription subscribe(
      String buildId, boolean logs, boolean replay, Consumer<BuildEvent> sink) {
    Objects.requireNonNull(sink, "sink");
    Sub sub = new Sub(buildId, logs, sink, null);
    synchronized (lock) {
      if (replay) {
        replayTo(sub);
      }
      subscribers.add(sub);
    }
    return () -> subscribers.remove(sub);
  }

  /**
   * Re-attaches to one build's events (a client that lost its connection; SUBSCRIBE with {@code
   * since}): first every event of the build still kept whose number is above {@code since}, then
   * every later one, each with its number in the build, in order, nothing lost or repeated in
   * between. Numbers count every event of the build with {@code logs}, every event but log lines
   * without; a gap means the master no longer keeps those events ({@link #MAX_REPLAY_EVENTS}).
   *
   * @param since the last number the caller saw, 0 for all; with 0 the build need not exist yet
   * @return the subscription, or empty if {@code since > 0} and the build is not kept (any more)
   */
  public Optional<Subscription> attach(
      String buildId, boolean logs, long since, NumberedSink sink) {
    Objects.requireNonNull(buildId, "buildId");
    Objects.requireNonNull(sink, "sink");
    if (since < 0) {
      throw new IllegalArgumentException("since must be >= 0 but was " + since);
    }
    Sub sub = new Sub(buildId, logs, null, sink);
    synchronized (lock) {
      BuildState b = builds.get(buildId);
      if (b == null && since > 0) {
        return Optional.empty();
      }
      if (b != null) {
        for (Numbered n : b.replay) {
          long seq = logs ? n.all : n.lifecycle;
          if (seq > since && (logs || n.event.kind() != BuildEvent.Kind.LOG)) {
            sub.offer(n);
          }
        }
      }
      subscribers.add(sub);
    }
    return Optional.of(() -> subscribers.remove(sub));
  }

  private void replayTo(Sub sub) {
    if (sub.buildId == null) {
      Instant now = clock.instant();
      for (String w : workers) {
        sub.offer(unnumbered(new BuildEvent(BuildEvent.Kind.WORKER_JOINED, null, now, null, null, null, null, w, 0)));
      }
    }
    for (BuildState b : builds.values()) {
      if (sub.buildId != null && !sub.buildId.equals(b.id)) {
        continue;
      }
      sub.offer(unnumbered(event(BuildEvent.Kind.BUILD_STARTED, b.id, b.startedAt, null, null)));
      for (TargetState t : b.targets.values()) {
        if (t.startedAt != null) {
          sub.offer(unnumbered(new BuildEvent(BuildEvent.Kind.TARGET_STARTED, b.id, t.startedAt, t.name, null,
              null, null, t.worker, t.attempt)));
        }
        if (t.finishedAt != null) {
          sub.offer(unnumbered(event(BuildEvent.Kind.TARGET_FINISHED, b.id, t.finishedAt, t.name, t.status)));
        }
      }
      if (b.finishedAt != null) {
        sub.offer(unnumbered(event(BuildEvent.Kind.BUILD_FINISHED, b.id, b.finishedAt, null, b.status)));
      }
    }
  }

  // ---- recording (BuildListener) -------------------------------------------------------------

  @Override
  public void buildStarted(String buildId, List<String> targets) {
    Instant now = clock.instant();
    synchronized (lock) {
      BuildState b = new BuildState(buildId, targets, now);
      builds.put(buildId, b);
      trim();
      publish(event(BuildEvent.Kind.BUILD_STARTED, buildId, now, null, null));
    }
  }

  @Override
  public void targetStarted(String buildId, String target, int attempt) {
    targetStarted(buildId, target, attempt, null);
  }

  /** Like {@link #targetStarted(String, String, int)}, naming the worker that runs the attempt. */
  @Override
  public void targetStarted(String buildId, String target, int attempt, String worker) {
    Instant now = clock.instant();
    synchronized (lock) {
      TargetState t = target(buildId, target);
      if (t != null) {
        t.status = "running";
        t.note = null;
        t.attempt = attempt;
        t.worker = worker;
        if (t.startedAt == null) {
          t.startedAt = now;
        }
      }
      publish(new BuildEvent(BuildEvent.Kind.TARGET_STARTED, buildId, now, target, null, null, null,
          worker, attempt));
    }
  }

  /**
   * Records that a ready target waits because no connected worker (nor this machine) can run it;
   * {@code reason} says what it needs. Its status becomes {@code waiting} until it starts or fails.
   */
  @Override
  public void targetWaiting(String buildId, String target, String reason) {
    synchronized (lock) {
      TargetState t = target(buildId, target);
      if (t != null) {
        t.status = "waiting";
        t.note = reason;
      }
    }
  }

  @Override
  public void logLine(
      String buildId, String target, OutputListener.Stream stream, String line, boolean replayed) {
    Instant now = clock.instant();
    synchronized (lock) {
      TargetState t = target(buildId, target);
      if (t != null && maxLogLines > 0) {
        if (t.log.size() == maxLogLines) {
          t.log.removeFirst();
        }
        t.log.addLast(new LogLine(now, stream, line));
      }
      publish(new BuildEvent(BuildEvent.Kind.LOG, buildId, now, target, null, stream, line, null, 0));
    }
  }

  @Override
  public void targetFinished(String buildId, TargetOutcome outcome) {
    Instant now = clock.instant();
    String status = outcome.status().name().toLowerCase(Locale.ROOT);
    synchronized (lock) {
      TargetState t = target(buildId, outcome.target());
      if (t != null) {
        t.status = status;
        t.finishedAt = now;
        t.attempt = Math.max(t.attempt, outcome.attempts());
      }
      publish(event(BuildEvent.Kind.TARGET_FINISHED, buildId, now, outcome.target(), status));
    }
  }

  @Override
  public void buildFinished(BuildResult result) {
    Instant now = clock.instant();
    synchronized (lock) {
      BuildState b = builds.get(result.buildId());
      String status = statusOf(result);
      if (b != null) {
        b.finishedAt = now;
        b.status = status;
        b.result = result;
      }
      // Published before trimming, so the build's last event is numbered and kept for replays.
      publish(event(BuildEvent.Kind.BUILD_FINISHED, result.buildId(), now, null, status));
      if (b != null) {
        // A finished build keeps its lifecycle for re-attaches but not its log lines (the
        // per-target log tails stay): memory then grows with targets, not with output.
        b.replay.removeIf(n -> n.event.kind() == BuildEvent.Kind.LOG);
      }
      trim();
    }
  }

  /** Records that a worker connected. */
  public void workerJoined(String workerId) {
    synchronized (lock) {
      workers.add(workerId);
      publish(new BuildEvent(BuildEvent.Kind.WORKER_JOINED, null, clock.instant(), null, null, null,
          null, workerId, 0));
    }
  }

  /** Records that a worker left (disconnected, declared dead, or replaced). */
  public void workerLeft(String workerId) {
    synchronized (lock) {
      workers.remove(workerId);
      publish(new BuildEvent(BuildEvent.Kind.WORKER_LEFT, null, clock.instant(), null, null, null,
          null, workerId, 0));
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  private static String statusOf(BuildResult result) {
    if (result.success()) {
      return "succeeded";
    }
    boolean cancelled = result.targets().stream()
        .anyMatch(t -> t.status() == TargetOutcome.Status.CANCELLED);
    return cancelled ? "cancelled" : "failed";
  }

  private TargetState target(String buildId, String target) {
    BuildState b = builds.get(buildId);
    return b == null ? null : b.targets.get(target);
  }

  /** Forgets the oldest finished builds beyond the cap. Under the lock. */
  private void trim() {
    int finished = (int) builds.values().stream().filter(b -> b.finishedAt != null).count();
    for (Iterator<BuildState> it = builds.values().iterator(); finished > maxBuilds && it.hasNext(); ) {
      if (it.next().finishedAt != null) {
        it.remove();
        finished--;
      }
    }
  }

  /** Numbers the event in its build (if kept) and keeps it for replays. Under the lock. */
  private void publish(BuildEvent e) {
    BuildState b = e.buildId() == null ? null : builds.get(e.buildId());
    Numbered n;
    if (b == null) {
      n = unnumbered(e);
    } else {
      b.all++;
      if (e.kind() != BuildEvent.Kind.LOG) {
        b.lifecycle++;
      }
      n = new Numbered(b.all, b.lifecycle, e);
      if (b.replay.size() == MAX_REPLAY_EVENTS) {
        b.replay.removeFirst();
      }
      b.replay.addLast(n);
    }
    for (Sub s : subscribers) {
      s.offer(n);
    }
  }

  private static Numbered unnumbered(BuildEvent e) {
    return new Numbered(0, 0, e);
  }

  /** An event with its numbers in its build: among all its events, and among all but log lines. */
  private record Numbered(long all, long lifecycle, BuildEvent event) {}

  private static BuildEvent event(
      BuildEvent.Kind kind, String buildId, Instant at, String target, String status) {
    return new BuildEvent(kind, buildId, at, target, status, null, null, null, 0);
  }

  private static final class BuildState {
    final String id;
    final Instant startedAt;
    final LinkedHashMap<String, TargetState> targets = new LinkedHashMap<>();
    Instant finishedAt;
    String status = "running";
    BuildResult result;
    final ArrayDeque<Numbered> replay = new ArrayDeque<>();
    long all;
    long lifecycle;

    BuildState(String id, List<String> targets, Instant startedAt) {
      this.id = id;
      this.startedAt = startedAt;
      targets.forEach(t -> this.targets.put(t, new TargetState(t)));
    }

    BuildSnapshot snapshot() {
      List<TargetSnapshot> ts = new ArrayList<>(targets.size());
      targets.values().forEach(t -> ts.add(t.snapshot()));
      return new BuildSnapshot(id, status, startedAt, finishedAt, ts, result);
    }
  }

  private static final class TargetState {
    final String name;
    final ArrayDeque<LogLine> log = new ArrayDeque<>();
    String status = "pending";
    int attempt;
    String worker;
    String note;
    Instant startedAt;
    Instant finishedAt;

    TargetState(String name) {
      this.name = name;
    }

    TargetSnapshot snapshot() {
      return new TargetSnapshot(name, status, note, attempt, worker, startedAt, finishedAt,
          log.size());
    }
  }

  private static final class Sub {
    final String buildId;
    final boolean logs;
    final Consumer<BuildEvent> sink; // or:
    final NumberedSink numbered;

    Sub(String buildId, boolean logs, Consumer<BuildEvent> sink, NumberedSink numbered) {
      this.buildId = buildId;
      this.logs = logs;
      this.sink = sink;
      this.numbered = numbered;
    }

    void offer(Numbered n) {
      BuildEvent e = n.event;
      if (e.kind() == BuildEvent.Kind.LOG && !logs) {
        return;
      }
      if (buildId != null && !buildId.equals(e.buildId())) {
        return;
      }
      try {
        if (numbered != null) {
          if (n.all == 0) {
            return; // an event of a build not kept has no number to give
          }
          numbered.accept(logs ? n.all : n.lifecycle, e);
        } else {
          sink.accept(e);
        }
      } catch (RuntimeException ex) {
        log.warn("event subscriber {} threw on {}; keeping it", sink, e.kind(), ex);
      }
    }
  }
}
