package dev.buildnet.api.build;

import dev.buildnet.api.exec.OutputListener;
import java.util.List;

/**
 * Receives a build's events as they happen. Every method has an empty default, so implement only
 * what you need.
 *
 * <p>Called from BuildNet's threads, possibly several at once for different targets: implementations
 * must be thread-safe and must not block for long (hand slow work to your own executor). An
 * exception thrown by a listener is logged and otherwise ignored.
 *
 * @since 0.1
 */
public interface BuildListener {

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
