package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans events out to every registered listener, isolating them from each other's exceptions. The
 * engine reports through the callback methods; each becomes one {@link BuildEvent}, stamped with
 * BuildNet's clock, that every listener gets through {@link BuildListener#onEvent}.
 */
public final class Listeners implements BuildListener {
  private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

  private final Clock clock;
  private final List<BuildListener> listeners = new CopyOnWriteArrayList<>();
  /** What BuildNet knows of a build about to start that the engine does not: see {@link #expect}. */
  private final Map<String, Submission> expected = new ConcurrentHashMap<>();

  private record Submission(List<String> requested, BuildOrigin origin) {}

  public Listeners(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public void add(BuildListener listener) {
    listeners.add(listener);
  }

  public void remove(BuildListener listener) {
    listeners.remove(listener);
  }

  /**
   * Whether some listener wants the log lines cached targets replay: any listener but one that
   * says otherwise ({@link dev.buildnet.internal.addon.AddOns.ReplayedLogs}).
   */
  public boolean wantReplayedLogs() {
    for (BuildListener l : listeners) {
      if (!(l instanceof dev.buildnet.internal.addon.AddOns.ReplayedLogs r)
          || r.wantsReplayedLogs()) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void onEvent(BuildEvent event) {
    for (BuildListener l : listeners) {
      try {
        l.onEvent(event);
      } catch (RuntimeException e) {
        LOG.warn("build listener {} threw; ignoring it for this event", l, e);
      }
    }
  }

  /** A worker connected ({@code joined}) or left this master. */
  public void worker(String workerId, boolean joined) {
    onEvent(joined
        ? new BuildEvent.WorkerJoined(clock.instant(), workerId)
        : new BuildEvent.WorkerLeft(clock.instant(), workerId));
  }

  /**
   * Notes the requested targets and origin of build {@code buildId}, which is about to be handed
   * to the engine: its build_started event carries them. The engine reports the start
   * synchronously while accepting the build; {@link #forget} undoes this if it refuses it.
   */
  public void expect(String buildId, List<String> requested, BuildOrigin origin) {
    expected.put(buildId, new Submission(List.copyOf(requested), origin));
  }

  /** The engine refused the build {@link #expect} announced. */
  public void forget(String buildId) {
    expected.remove(buildId);
  }

  @Override
  public void buildStarted(String buildId, List<String> targets) {
    Submission s = expected.remove(buildId);
    onEvent(new BuildEvent.BuildStarted(buildId, clock.instant(), targets,
        s == null ? List.of() : s.requested(), s == null ? BuildOrigin.api() : s.origin()));
  }

  /** A target attempt started on a remote worker ({@code worker}; null: on this machine). */
  static void targetStarted(
      BuildListener to, String buildId, String target, int attempt, String worker) {
    to.onEvent(new BuildEvent.TargetStarted(buildId, clock(to).instant(), target, attempt, worker));
  }

  /** A target waits for a worker that can run it. */
  static void targetWaiting(BuildListener to, String buildId, String target, String reason) {
    to.onEvent(new BuildEvent.TargetWaiting(buildId, clock(to).instant(), target, reason));
  }

  private static Clock clock(BuildListener to) {
    return to instanceof Listeners all ? all.clock : Clock.systemUTC();
  }

  @Override
  public void targetStarted(String buildId, String target, int attempt) {
    onEvent(new BuildEvent.TargetStarted(buildId, clock.instant(), target, attempt, null));
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
}
