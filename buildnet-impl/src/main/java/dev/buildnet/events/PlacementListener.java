package dev.buildnet.events;

import dev.buildnet.api.build.BuildListener;

/**
 * A {@link BuildListener} that also hears where attempts run: BuildNet calls these, instead of
 * (not in addition to) {@link BuildListener#targetStarted}, when an attempt goes to a remote
 * worker, and when a ready target waits for a worker able to run it. Same threading rules as
 * {@link BuildListener}.
 *
 * @since 0.1
 */
public interface PlacementListener extends BuildListener {

  /** An attempt started on {@code worker} (null: on this machine). */
  void targetStarted(String buildId, String target, int attempt, String worker);

  /** A ready target waits: no connected worker (nor this machine) can run it; {@code reason} says why. */
  void targetWaiting(String buildId, String target, String reason);
}
