package dev.buildnet.api.build;

import dev.buildnet.api.exec.OutputListener;
import java.util.List;

/**
 * Receives a build's events as they happen. BuildNet calls {@link #onEvent(BuildEvent)} once per
 * event; its default hands the common events to the callback methods below, which all have empty
 * defaults. So either implement only the callbacks you need (as before 0.3), or override {@code
 * onEvent} to see every {@link BuildEvent} in one place, including those without a callback
 * ({@link BuildEvent.TargetWaiting}, the worker events, and the worker of a {@link
 * BuildEvent.TargetStarted}). Overriding {@code onEvent} without calling the default means the
 * callbacks are not called.
 *
 * <p>Called from BuildNet's threads, possibly several at once for different targets: implementations
 * must be thread-safe and must not block for long (hand slow work to your own executor). An
 * exception thrown by a listener is logged and otherwise ignored.
 *
 * @since 0.1
 */
public interface BuildListener {

  /**
   * One event; by default calls the matching callback (none for the events without one, and
   * none for a {@link BuildEvent.TargetFinished} without outcome or a {@link
   * BuildEvent.BuildFinished} without result, which BuildNet never delivers to listeners).
   *
   * @since 0.3
   */
  default void onEvent(BuildEvent event) {
    switch (event.kind()) {
      case BUILD_STARTED -> buildStarted(event.buildId(), ((BuildEvent.BuildStarted) event).targets());
      case TARGET_STARTED -> {
        BuildEvent.TargetStarted e = (BuildEvent.TargetStarted) event;
        targetStarted(e.buildId(), e.target(), e.attempt());
      }
      case LOG -> {
        BuildEvent.TargetLog e = (BuildEvent.TargetLog) event;
        logLine(e.buildId(), e.target(), e.stream(), e.line(), e.replayed());
      }
      case TARGET_FINISHED -> {
        BuildEvent.TargetFinished e = (BuildEvent.TargetFinished) event;
        if (e.outcome() != null) {
          targetFinished(e.buildId(), e.outcome());
        }
      }
      case BUILD_FINISHED -> {
        BuildEvent.BuildFinished e = (BuildEvent.BuildFinished) event;
        if (e.result() != null) {
          buildFinished(e.result());
        }
      }
      default -> { } // no callback: TARGET_WAITING, WORKER_JOINED, WORKER_LEFT
    }
  }

  /** A build was accepted; {@code targets} are all it will consider, in dependency order. */
  default void buildStarted(String buildId, List<String> targets) {}

  /** A target began its work (cache lookup, then possibly a run); {@code attempt} counts from 1. */
  default void targetStarted(String buildId, String target, int attempt) {}

  /**
   * A line of a target's output; {@code replayed} is true when it comes from the cache rather than
   * a live process.
   */
  default void logLine(
      String buildId, String target, OutputListener.Stream stream, String line, boolean replayed) {}

  /** A target reached its final status: built, cached, failed, skipped or cancelled. */
  default void targetFinished(String buildId, TargetOutcome outcome) {}

  /** The build ended; {@code result} is what its future completes with. */
  default void buildFinished(BuildResult result) {}
}
