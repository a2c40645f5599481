package dev.buildnet.internal.events;

import dev.buildnet.LogLimits;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.internal.events.BuildSnapshot.TargetSnapshot;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
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
 * <p>It is a {@link BuildListener} that records every {@link BuildEvent} it is given through
 * {@link #onEvent}: BuildNet registers one (see {@code BuildNet.history()}), and the master's EVENT
 * stream and the HTTP module read from it. The callback methods ({@link #buildStarted} etc.) record
 * the same events stamped with the history's clock. Memory is bounded: finished builds
 * beyond {@code maxBuilds}, or beyond {@link #DEFAULT_MAX_TARGETS} targets between them, are
 * forgotten oldest first (the last finished build is always kept); each target keeps at most {@code
 * maxLogLines} lines (the oldest after its head are dropped first); and the kept log lines are
 * bounded in bytes per target, per build and in total by {@link LogLimits}. Past a byte limit a
 * target keeps the head of its log (up to half its limit) and a tail of its latest lines, and
 * {@link #log} shows a {@code [buildnet: N bytes omitted]} line between them; past the total, the
 * logs of the oldest finished builds are dropped first. Every line still goes to subscribers.
 *
 * <h2>Threads</h2>
 * Thread-safe. Events are recorded and handed to subscribers under one lock, in the order they
 * happened, on the thread that reported them: a subscriber's sink must not block (queue the event
 * and return), or it stalls the build. A sink that throws is logged; its subscription stays.
 *
 * @since 0.1
 */
public final class BuildHistory implements BuildListener,
    dev.buildnet.internal.addon.AddOns.ReplayedLogs {
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

  /**
   * Targets kept between the finished builds by default, each with its events and outcome (about
   * 350 bytes per target and build): about 35 MB. Past it the oldest finished builds go, however
   * few builds are kept; a cap on builds alone let 200 builds of 10,000 targets hold 700 MB.
   */
  public static final long DEFAULT_MAX_TARGETS = 100_000;

  private final Clock clock;
  private int maxBuilds; // under the lock
  private long maxTargets = DEFAULT_MAX_TARGETS; // under the lock
  private final int maxLogLines;
  private final LogLimits limits;
  private long logCharge; // of every kept build, in the units of LogLimits
  private final Object lock = new Object();
  private final LinkedHashMap<String, BuildState> builds = new LinkedHashMap<>();
  /** What {@link #recording} found last, or null; always a build in {@link #builds}. Under the lock. */
  private BuildState lastBuild;
  private final Set<String> workers = new TreeSet<>();
  private final List<Sub> subscribers = new CopyOnWriteArrayList<>();
  private volatile boolean keepReplayed = true;

  /**
   * @param maxBuilds finished builds kept (running builds are always kept), at least 1
   * @param maxLogLines log lines kept per target, at least 0
   */
  public BuildHistory(Clock clock, int maxBuilds, int maxLogLines) {
    this(clock, maxBuilds, maxLogLines, LogLimits.DEFAULT);
  }

  /**
   * @param maxBuilds finished builds kept (running builds are always kept), at least 1
   * @param maxLogLines log lines kept per target, at least 0
   * @param limits how many bytes of log lines are kept per target, per build and in all
   */
  public BuildHistory(Clock clock, int maxBuilds, int maxLogLines, LogLimits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
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

  /**
   * Keeps at most {@code max} finished builds from now on (running builds are always kept) and
   * forgets the oldest finished ones beyond it at once. For a host that nobody asks about past
   * builds, such as the CLI's warm daemon: each kept build holds every target's events and
   * outcome (about 1 KiB per target), which over the default 200 builds of a large workspace is
   * hundreds of MiB.
   *
   * @param max finished builds kept, at least 1
   */
  public void keepBuilds(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max must be at least 1 but was " + max);
    }
    synchronized (lock) {
      maxBuilds = max;
      trim();
    }
  }

  /**
   * Keeps finished builds only while their targets number at most {@code max} between them (the
   * last finished build is kept whatever its size), from now on, forgetting the oldest beyond it
   * at once; {@link #DEFAULT_MAX_TARGETS} by default.
   *
   * @param max targets of finished builds kept, at least 1
   */
  public void keepTargets(long max) {
    if (max < 1) {
      throw new IllegalArgumentException("max must be at least 1 but was " + max);
    }
    synchronized (lock) {
      maxTargets = max;
      trim();
    }
  }

  /**
   * Whether the log lines cached targets replay from the cache are wanted for this history (the
   * default): with {@code false} they are read from the cache only while a subscriber takes log
   * lines, or while another listener wants them (the history then keeps them as any line). For a
   * host that nobody asks about past builds' logs, such as the CLI's warm daemon.
   */
  public void keepReplayedLogs(boolean keep) {
    keepReplayed = keep;
  }

  @Override
  public boolean wantsReplayedLogs() {
    if (keepReplayed) {
      return true;
    }
    for (Sub s : subscribers) {
      if (s.logs) {
        return true;
      }
    }
    return false;
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
   * The kept lines of a target's log in one build: all of them, or, past a byte limit, its head, a
   * line {@code [buildnet: N bytes omitted]} and its latest lines; empty if the build or target is
   * unknown or it logged nothing.
   */
  public List<LogLine> log(String buildId, String target) {
    synchronized (lock) {
      BuildState b = builds.get(buildId);
      TargetLog t = b == null ? null : b.log(target);
      return t == null ? (b != null && b.has(target) ? new ArrayList<>() : List.of()) : t.lines();
    }
  }

  /** The bytes of log lines kept now, over every build (what {@link LogLimits#totalBytes} caps). */
  public long logBytes() {
    synchronized (lock) {
      return logCharge;
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
   * @param logs whether to include {@link BuildEvent.TargetLog} events (never replayed)
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
        sub.offer(unnumbered(new BuildEvent.WorkerJoined(now, w)));
      }
    }
    for (BuildState b : builds.values()) {
      if (sub.buildId != null && !sub.buildId.equals(b.id)) {
        continue;
      }
      sub.offer(unnumbered(new BuildEvent.BuildStarted(b.id, b.startedAt,
          b.names, b.requested, b.origin)));
      for (TargetState t : b.view()) {
        if (t.startedAt != null) {
          sub.offer(unnumbered(
              new BuildEvent.TargetStarted(b.id, t.startedAt, t.name, t.attempt, t.worker)));
        }
        if (t.finishedAt != null) {
          sub.offer(unnumbered(
              new BuildEvent.TargetFinished(b.id, t.finishedAt, t.name, t.outcome, null)));
        }
      }
      if (b.finishedAt != null) {
        sub.offer(unnumbered(new BuildEvent.BuildFinished(b.id, b.finishedAt, b.status, b.result)));
      }
    }
  }

  // ---- recording (BuildListener) -------------------------------------------------------------

  /** Records {@code event} and hands it to the subscribers it concerns. */
  @Override
  public void onEvent(BuildEvent event) {
    Objects.requireNonNull(event, "event");
    synchronized (lock) {
      switch (event.kind()) {
        case BUILD_STARTED -> {
          BuildEvent.BuildStarted e = (BuildEvent.BuildStarted) event;
          lastBuild = null; // the put may replace the build it holds
          builds.put(e.buildId(), new BuildState(e.buildId(), e.targets(), e.at(),
              e.requested(), e.origin() == null ? BuildOrigin.api() : e.origin()));
          trim();
          publish(e);
        }
        case TARGET_STARTED -> {
          BuildEvent.TargetStarted e = (BuildEvent.TargetStarted) event;
          TargetState t = target(e.buildId(), e.target());
          if (t != null) {
            t.status = "running";
            t.note = null;
            t.attempt = e.attempt();
            t.worker = e.worker();
            if (t.startedAt == null) {
              t.startedAt = e.at();
            }
          }
          publish(e);
        }
        case TARGET_WAITING -> {
          // State only: waiting is not an EVENT kind, the build's snapshot shows it.
          BuildEvent.TargetWaiting e = (BuildEvent.TargetWaiting) event;
          TargetState t = target(e.buildId(), e.target());
          if (t != null) {
            t.status = "waiting";
            t.note = e.reason();
          }
        }
        case LOG -> {
          BuildEvent.TargetLog e = (BuildEvent.TargetLog) event;
          BuildState b = recording(e.buildId());
          TargetState t = b == null ? null : b.targets().get(e.target());
          if (t != null && maxLogLines > 0) {
            keep(b, t.log(), new LogLine(e.at(), e.stream(), e.line()));
          }
          publish(e);
        }
        case TARGET_FINISHED -> {
          BuildEvent.TargetFinished e = (BuildEvent.TargetFinished) event;
          TargetState t = target(e.buildId(), e.target());
          if (t != null) {
            t.status = e.status().wireName();
            t.outcome = e.status();
            t.finishedAt = e.at();
            if (e.outcome() != null) {
              t.attempt = Math.max(t.attempt, e.outcome().attempts());
            }
          }
          publish(e);
        }
        case BUILD_FINISHED -> {
          BuildEvent.BuildFinished e = (BuildEvent.BuildFinished) event;
          BuildState b = builds.get(e.buildId());
          if (b != null) {
            b.finishedAt = e.at();
            b.status = e.status();
            b.result = e.result();
          }
          // Published before trimming, so the build's last event is numbered and kept for replays.
          publish(e);
          if (b != null) {
            // A finished build keeps its lifecycle for re-attaches but not its log lines (the
            // per-target log tails stay): memory then grows with targets, not with output.
            b.replay.removeIf(n -> n.event.kind() == BuildEvent.Kind.LOG);
            b.replayLogBytes = 0;
            b.compact();
          }
          trim();
        }
        case WORKER_JOINED -> {
          workers.add(((BuildEvent.WorkerJoined) event).worker());
          publish(event);
        }
        case WORKER_LEFT -> {
          workers.remove(((BuildEvent.WorkerLeft) event).worker());
          publish(event);
        }
        default -> throw new AssertionError(event.kind());
      }
    }
  }

  @Override
  public void buildStarted(String buildId, List<String> targets) {
    onEvent(new BuildEvent.BuildStarted(buildId, clock.instant(), targets));
  }

  @Override
  public void targetStarted(String buildId, String target, int attempt) {
    targetStarted(buildId, target, attempt, null);
  }

  /** Like {@link #targetStarted(String, String, int)}, naming the worker that runs the attempt. */
  public void targetStarted(String buildId, String target, int attempt, String worker) {
    onEvent(new BuildEvent.TargetStarted(buildId, clock.instant(), target, attempt, worker));
  }

  /**
   * Records that a ready target waits because no connected worker (nor this machine) can run it;
   * {@code reason} says what it needs. Its status becomes {@code waiting} until it starts or fails.
   */
  public void targetWaiting(String buildId, String target, String reason) {
    onEvent(new BuildEvent.TargetWaiting(buildId, clock.instant(), target, reason));
  }

  @Override
  public void logLine(
      String buildId, String target, OutputListener.Stream stream, String line, boolean replayed) {
    onEvent(new BuildEvent.TargetLog(buildId, clock.instant(), target, stream, line, replayed));
  }

  @Override
  public void targetFinished(String buildId, TargetOutcome outcome) {
    onEvent(BuildEvent.TargetFinished.of(buildId, clock.instant(), outcome));
  }

  @Override
  public void buildFinished(BuildResult result) {
    onEvent(BuildEvent.BuildFinished.of(clock.instant(), result));
  }

  /** Records that a worker connected. */
  public void workerJoined(String workerId) {
    onEvent(new BuildEvent.WorkerJoined(clock.instant(), workerId));
  }

  /** Records that a worker left (disconnected, declared dead, or replaced). */
  public void workerLeft(String workerId) {
    onEvent(new BuildEvent.WorkerLeft(clock.instant(), workerId));
  }

  // ---- internals -----------------------------------------------------------------------------

  private TargetState target(String buildId, String target) {
    BuildState b = recording(buildId);
    return b == null ? null : b.targets().get(target);
  }

  /**
   * The build {@code buildId} (or null), for recording one of its events. Under the lock. The
   * events of a build come in a run, so the last one asked for is kept: one string compare per
   * event instead of a lookup among the kept builds.
   */
  private BuildState recording(String buildId) {
    BuildState b = lastBuild;
    if (b != null && b.id.equals(buildId)) {
      return b;
    }
    b = builds.get(buildId);
    if (b != null) {
      lastBuild = b;
    }
    return b;
  }

  /** Forgets the oldest finished builds beyond the caps (keeping the last finished one). Under the lock. */
  private void trim() {
    int finished = 0;
    long targets = 0;
    for (BuildState b : builds.values()) {
      if (b.finishedAt != null) {
        finished++;
        targets += b.names.size();
      }
    }
    for (Iterator<BuildState> it = builds.values().iterator();
        (finished > maxBuilds || (targets > maxTargets && finished > 1)) && it.hasNext(); ) {
      BuildState b = it.next();
      if (b.finishedAt != null) {
        logCharge -= b.logCharge;
        it.remove();
        if (b == lastBuild) {
          lastBuild = null;
        }
        finished--;
        targets -= b.names.size();
      }
    }
  }


  /** Keeps {@code line} in {@code log} of build {@code b} within every limit. Under the lock. */
  private void keep(BuildState b, TargetLog log, LogLine line) {
    long text = TargetLog.textBytes(line.line());
    long cost = text + TargetLog.LINE_OVERHEAD;
    if (log.size() >= maxLogLines) {
      long freed = log.evictOldest(); // the plain line cap
      b.logCharge -= freed;
      logCharge -= freed;
    }
    if (!fits(b, log, cost)) {
      log.pinHead(limits.perTargetBytes() / 2);
      // Room comes first from the logs of builds that are over, oldest first, then from this
      // target's own oldest tail lines; the head stays.
      for (Iterator<BuildState> it = builds.values().iterator();
          logCharge + cost > limits.totalBytes() && it.hasNext(); ) {
        BuildState old = it.next();
        if (old != b && old.finishedAt != null && old.logCharge > 0) {
          old.dropLogs();
          logCharge -= old.logCharge;
          old.logCharge = 0;
        }
      }
      while (!fits(b, log, cost) && log.hasTail()) {
        long freed = log.evictOldestTail();
        b.logCharge -= freed;
        logCharge -= freed;
      }
      if (!fits(b, log, cost)) {
        log.omit(line, text);
        return;
      }
    }
    log.add(line, cost);
    b.logCharge += cost;
    logCharge += cost;
  }

  private boolean fits(BuildState b, TargetLog log, long cost) {
    return log.charge + cost <= limits.perTargetBytes()
        && b.logCharge + cost <= limits.perBuildBytes()
        && logCharge + cost <= limits.totalBytes();
  }

  /** Numbers the event in its build (if kept) and keeps it for replays. Under the lock. */
  private void publish(BuildEvent e) {
    BuildState b = e.buildId() == null ? null : recording(e.buildId());
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
        Numbered dropped = b.replay.removeFirst();
        b.replayLogBytes -= replayCost(dropped.event);
      }
      b.replay.addLast(n);
      b.replayLogBytes += replayCost(e);
      if (b.replayLogBytes > limits.perBuildBytes()) {
        // Log lines kept for re-attaches are bounded in bytes like the logs themselves: the
        // oldest go first, lifecycle events stay (a chatty target must not pin memory here).
        for (Iterator<Numbered> it = b.replay.iterator();
            b.replayLogBytes > limits.perBuildBytes() && it.hasNext(); ) {
          Numbered old = it.next();
          if (old.event.kind() == BuildEvent.Kind.LOG) {
            it.remove();
            b.replayLogBytes -= replayCost(old.event);
          }
        }
      }
    }
    for (Sub s : subscribers) {
      s.offer(n);
    }
  }

  /** What a kept log event costs against the build's byte limit; other events cost nothing. */
  private static long replayCost(BuildEvent e) {
    return e instanceof BuildEvent.TargetLog l
        ? TargetLog.textBytes(l.line()) + TargetLog.LINE_OVERHEAD
        : 0;
  }

  private static Numbered unnumbered(BuildEvent e) {
    return new Numbered(0, 0, e);
  }

  /** An event with its numbers in its build: among all its events, and among all but log lines. */
  private record Numbered(long all, long lifecycle, BuildEvent event) {}

  private static final class BuildState {
    final String id;
    final Instant startedAt;
    /** Every target of the build, in order (the build_started event's immutable list). */
    final List<String> names;
    /**
     * Each target's state while the build runs; null once it is {@link #compact}ed (made again
     * by {@link #targets()} should a late event still concern one).
     */
    private LinkedHashMap<String, TargetState> targets;
    /** The same state in arrays once the build finished, or null. */
    private Compact compact;
    Instant finishedAt;
    BuildStatus status = BuildStatus.RUNNING;
    BuildResult result;
    long logCharge;
    final ArrayDeque<Numbered> replay = new ArrayDeque<>();
    long replayLogBytes; // of the LOG events in replay
    long all;
    long lifecycle;

    final List<String> requested;
    final BuildOrigin origin;

    BuildState(String id, List<String> targets, Instant startedAt, List<String> requested,
        BuildOrigin origin) {
      this.id = id;
      this.startedAt = startedAt;
      this.requested = requested;
      this.origin = origin;
      this.names = List.copyOf(targets);
      this.targets = new LinkedHashMap<>();
      targets.forEach(t -> this.targets.put(t, new TargetState(t)));
    }

    /** The targets' state by name, for recording an event. */
    LinkedHashMap<String, TargetState> targets() {
      if (targets == null) {
        targets = new LinkedHashMap<>();
        for (TargetState t : compact.expand()) {
          targets.put(t.name, t);
        }
        compact = null;
      }
      return targets;
    }

    /** The targets' state, in order, for reading only. */
    Iterable<TargetState> view() {
      return targets != null ? targets.values() : compact.expand();
    }

    boolean has(String target) {
      return targets != null ? targets.containsKey(target) : compact.index(target) >= 0;
    }

    /** The kept log of {@code target}, or null if it logged nothing or is no target of this build. */
    TargetLog log(String target) {
      if (targets != null) {
        TargetState t = targets.get(target);
        return t == null ? null : t.log;
      }
      return compact.log(target);
    }

    /** Drops every target's kept log lines (the history's total limit). */
    void dropLogs() {
      for (TargetState t : view()) {
        if (t.log != null) { // one that logged nothing has nothing to drop
          t.log.dropAll();
        }
      }
    }

    /**
     * Keeps the targets' state in a few arrays rather than an object, a map entry and two
     * instants per target: a kept build of 10,000 targets then holds a handful of objects here,
     * where it held 40,000 that every young collection had to copy while builds piled up.
     */
    void compact() {
      if (targets != null) {
        compact = new Compact(names, targets);
        targets = null;
      }
    }

    BuildSnapshot snapshot() {
      List<TargetSnapshot> ts = new ArrayList<>(names.size());
      view().forEach(t -> ts.add(t.snapshot()));
      return new BuildSnapshot(id, status.wireName(), startedAt, finishedAt, ts, result, requested,
          origin);
    }
  }

  /**
   * The {@link TargetState}s of a finished build as arrays by position in its target list (the
   * strings are shared with the events, the instants kept as numbers); {@link #expand} makes
   * equal {@link TargetState}s again, sharing each {@link TargetLog}.
   */
  private static final class Compact {
    private static final long NONE = Long.MIN_VALUE;
    final List<String> names;
    /** Names in the order of {@link #names} when they are not the map's keys (never, in practice). */
    final String[] own;
    final String[] status;
    final TargetOutcome.Status[] outcome;
    final int[] attempt;
    final String[] worker; // null if no target ran on a worker
    final String[] note; // null if no target has a note
    final TargetLog[] log; // null if no target logged
    final long[] startedSeconds;
    final int[] startedNanos;
    final long[] finishedSeconds;
    final int[] finishedNanos;

    Compact(List<String> names, LinkedHashMap<String, TargetState> targets) {
      int n = targets.size();
      boolean same = names.size() == n;
      String[] order = new String[n];
      String[] status = new String[n];
      TargetOutcome.Status[] outcome = new TargetOutcome.Status[n];
      int[] attempt = new int[n];
      String[] worker = null;
      String[] note = null;
      TargetLog[] log = null;
      long[] ss = new long[n];
      int[] sn = new int[n];
      long[] fs = new long[n];
      int[] fn = new int[n];
      int i = 0;
      for (TargetState t : targets.values()) {
        order[i] = t.name;
        same &= names.get(i).equals(t.name);
        status[i] = t.status;
        outcome[i] = t.outcome;
        attempt[i] = t.attempt;
        if (t.worker != null) {
          worker = worker == null ? new String[n] : worker;
          worker[i] = t.worker;
        }
        if (t.note != null) {
          note = note == null ? new String[n] : note;
          note[i] = t.note;
        }
        if (t.log != null) {
          log = log == null ? new TargetLog[n] : log;
          log[i] = t.log;
        }
        ss[i] = t.startedAt == null ? NONE : t.startedAt.getEpochSecond();
        sn[i] = t.startedAt == null ? 0 : t.startedAt.getNano();
        fs[i] = t.finishedAt == null ? NONE : t.finishedAt.getEpochSecond();
        fn[i] = t.finishedAt == null ? 0 : t.finishedAt.getNano();
        i++;
      }
      this.names = names;
      this.own = same ? null : order;
      this.status = status;
      this.outcome = outcome;
      this.attempt = attempt;
      this.worker = worker;
      this.note = note;
      this.log = log;
      this.startedSeconds = ss;
      this.startedNanos = sn;
      this.finishedSeconds = fs;
      this.finishedNanos = fn;
    }

    private String name(int i) {
      return own != null ? own[i] : names.get(i);
    }

    int index(String target) {
      for (int i = 0; i < status.length; i++) {
        if (name(i).equals(target)) {
          return i;
        }
      }
      return -1;
    }

    TargetLog log(String target) {
      if (log == null) {
        return null;
      }
      int i = index(target);
      return i < 0 ? null : log[i];
    }

    List<TargetState> expand() {
      List<TargetState> all = new ArrayList<>(status.length);
      for (int i = 0; i < status.length; i++) {
        TargetState t = new TargetState(name(i));
        t.status = status[i];
        t.outcome = outcome[i];
        t.attempt = attempt[i];
        t.worker = worker == null ? null : worker[i];
        t.note = note == null ? null : note[i];
        t.log = log == null ? null : log[i];
        t.startedAt = startedSeconds[i] == NONE ? null
            : Instant.ofEpochSecond(startedSeconds[i], startedNanos[i]);
        t.finishedAt = finishedSeconds[i] == NONE ? null
            : Instant.ofEpochSecond(finishedSeconds[i], finishedNanos[i]);
        all.add(t);
      }
      return all;
    }
  }

  private static final class TargetState {
    final String name;
    /**
     * Made with the first line: one per target per build, and most targets log nothing (every
     * target of a null build), so an empty one is not made for each.
     */
    TargetLog log;
    String status = "pending";
    TargetOutcome.Status outcome; // once finished
    int attempt;
    String worker;
    String note;
    Instant startedAt;
    Instant finishedAt;

    TargetState(String name) {
      this.name = name;
    }

    TargetLog log() {
      if (log == null) {
        log = new TargetLog();
      }
      return log;
    }

    TargetSnapshot snapshot() {
      return new TargetSnapshot(name, status, note, attempt, worker, startedAt, finishedAt,
          log == null ? 0 : log.size());
    }
  }

  /**
   * A target's kept log lines: a head, pinned the first time a byte limit is reached, and a tail
   * whose oldest lines make room for new ones. Under the history's lock.
   */
  private static final class TargetLog {
    // What a kept line costs beyond its text (the LogLine, its String, the deque slot), so that
    // many short lines are bounded as well as a few long ones.
    static final long LINE_OVERHEAD = 64;

    private final List<LogLine> head = new ArrayList<>();
    // Smallest start: there is one per target per build and most targets log nothing (a null
    // build); the deques grow as lines come.
    private final ArrayDeque<LogLine> tail = new ArrayDeque<>(1);
    private final ArrayDeque<Long> tailCosts = new ArrayDeque<>(1);
    private final List<Long> headCosts = new ArrayList<>();
    private boolean pinned;
    long charge;
    private long omittedBytes; // text bytes, newlines included, left out by a byte limit
    private LogLine firstOmitted;

    int size() {
      return head.size() + tail.size();
    }

    boolean hasTail() {
      return !tail.isEmpty();
    }

    void add(LogLine line, long cost) {
      tail.addLast(line);
      tailCosts.addLast(cost);
      charge += cost;
    }

    /** Makes the first lines, up to {@code budget}, the head; once. */
    void pinHead(long budget) {
      if (pinned) {
        return;
      }
      pinned = true;
      long used = 0;
      while (!tail.isEmpty() && used + tailCosts.peekFirst() <= budget) {
        used += tailCosts.peekFirst();
        headCosts.add(tailCosts.removeFirst());
        head.add(tail.removeFirst());
      }
    }

    /** Drops the oldest tail line for a byte limit; returns what it cost. */
    long evictOldestTail() {
      LogLine dropped = tail.removeFirst();
      long cost = tailCosts.removeFirst();
      omit(dropped, cost - LINE_OVERHEAD);
      charge -= cost;
      return cost;
    }

    /**
     * Drops the oldest line after the head (the head's own when there is no tail) for the line
     * cap; returns what it cost. Before a byte limit pinned a head this keeps a plain tail, as the
     * line cap always did; after, the marker counts what it drops.
     */
    long evictOldest() {
      LogLine dropped;
      long cost;
      if (!tail.isEmpty()) {
        dropped = tail.removeFirst();
        cost = tailCosts.removeFirst();
      } else {
        dropped = head.remove(0);
        cost = headCosts.remove(0);
      }
      if (pinned) {
        omit(dropped, cost - LINE_OVERHEAD);
      }
      charge -= cost;
      return cost;
    }

    void omit(LogLine line, long text) {
      if (firstOmitted == null) {
        firstOmitted = line;
      }
      omittedBytes += text;
    }

    /** Drops every line (the history's total limit); the marker then says how much. */
    void dropAll() {
      for (LogLine l : head) {
        omit(l, textBytes(l.line()));
      }
      for (LogLine l : tail) {
        omit(l, textBytes(l.line()));
      }
      head.clear();
      headCosts.clear();
      tail.clear();
      tailCosts.clear();
      charge = 0;
      pinned = true;
    }

    List<LogLine> lines() {
      List<LogLine> all = new ArrayList<>(size() + 1);
      all.addAll(head);
      if (omittedBytes > 0) {
        all.add(new LogLine(firstOmitted.at(), firstOmitted.stream(),
            "[buildnet: " + omittedBytes + " bytes omitted]"));
      }
      all.addAll(tail);
      return all;
    }

    /** The line's UTF-8 length plus its newline, without encoding it. */
    static long textBytes(String s) {
      long n = 1;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c < 0x80) {
          n += 1;
        } else if (c < 0x800) {
          n += 2;
        } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          n += 4;
          i++;
        } else {
          n += 3;
        }
      }
      return n;
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
