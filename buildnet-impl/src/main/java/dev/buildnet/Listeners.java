package dev.buildnet;

import dev.buildnet.events.PlacementListener;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Fans events out to every registered listener, isolating them from each other's exceptions. */
final class Listeners implements BuildListener {
  private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

  private final List<BuildListener> listeners = new CopyOnWriteArrayList<>();

  void add(BuildListener listener) {
    listeners.add(listener);
  }

  void remove(BuildListener listener) {
    listeners.remove(listener);
  }

  private void each(Consumer<BuildListener> call) {
    for (BuildListener l : listeners) {
      try {
        call.accept(l);
      } catch (RuntimeException e) {
        LOG.warn("build listener {} threw; ignoring it for this event", l, e);
      }
    }
  }

  @Override
  public void buildStarted(String buildId, List<String> targets) {
    each(l -> l.buildStarted(buildId, targets));
  }

  /**
   * A target attempt started on a remote worker: placement listeners hear the worker, the others
   * see a plain {@link #targetStarted(String, String, int)}.
   */
  static void targetStarted(
      BuildListener to, String buildId, String target, int attempt, String worker) {
    if (to instanceof Listeners all) {
      all.each(l -> targetStarted(l, buildId, target, attempt, worker));
    } else if (to instanceof PlacementListener p) {
      p.targetStarted(buildId, target, attempt, worker);
    } else {
      to.targetStarted(buildId, target, attempt);
    }
  }

  /** A target waits for a worker that can run it; only placement listeners hear it. */
  static void targetWaiting(BuildListener to, String buildId, String target, String reason) {
    if (to instanceof Listeners all) {
      all.each(l -> targetWaiting(l, buildId, target, reason));
    } else if (to instanceof PlacementListener p) {
      p.targetWaiting(buildId, target, reason);
    }
  }

  @Override
  public void targetStarted(String buildId, String target, int attempt) {
    each(l -> l.targetStarted(buildId, target, attempt));
  }

  @Override
  public void logLine(
      String buildId, String target, OutputListener.Stream stream, String line, boolean replayed) {
    each(l -> l.logLine(buildId, target, stream, line, replayed));
  }

  @Override
  public void targetFinished(String buildId, TargetOutcome outcome) {
    each(l -> l.targetFinished(buildId, outcome));
  }

  @Override
  public void buildFinished(BuildResult result) {
    each(l -> l.buildFinished(result));
  }
}
