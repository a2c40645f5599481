package dev.buildnet;

import dev.buildnet.api.build.BuildResult;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link BuildNet#watch watch} tells its host: each cycle (a debounced batch of changes)
 * as it starts and when its build ends, and one-line notices (a rescan after lost events, an
 * invalid {@code buildnet.json} that was not taken). Called on BuildNet's threads, one call at a
 * time; a listener that throws is logged and kept. The default methods do nothing.
 *
 * @since 0.4
 */
public interface WatchListener {
  /** A cycle begins; {@link Cycle#targets()} is empty when the changes affect no target's key. */
  default void cycleStarted(Cycle cycle) {}

  /** The build of {@code cycle} ended (succeeded, failed, or was cancelled by a later change). */
  default void cycleFinished(Cycle cycle, BuildResult result) {}

  /** Something the host should say once, e.g. {@code "events were lost under /w/src; rescanned"}. */
  default void notice(String message) {}

  /**
   * One watch cycle.
   *
   * @param number 1 for the first build when the watch starts, then counting up
   * @param buildId the id of the cycle's build (as in {@link BuildNet#history}-backed streams);
   *     empty if nothing was built
   * @param changedPaths the workspace-relative paths whose events made this cycle, sorted
   *     (at most the first 1,000; {@code changedCount} has them all)
   * @param changedCount how many paths changed
   * @param targets the targets this cycle builds: the ones whose inputs changed, what depends on
   *     them among the watched targets, and any not up to date since the last cycle
   * @param rescanned whether events were lost and the affected directories were scanned again
   */
  record Cycle(long number, String buildId, List<String> changedPaths, int changedCount,
      List<String> targets, boolean rescanned) {
    public Cycle {
      Objects.requireNonNull(buildId, "buildId");
      changedPaths = List.copyOf(changedPaths);
      targets = List.copyOf(targets);
    }
  }
}
