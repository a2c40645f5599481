package dev.buildnet.remote;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.events.BuildHistory;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What a master needs from the build engine it fronts to serve clients' BUILD_REQUEST,
 * BUILD_CANCEL and SUBSCRIBE: {@code BuildNet} implements it for its embedded master.
 *
 * @since 0.1
 */
public interface BuildService {

  /**
   * Starts building {@code targets} (and their dependencies) as build {@code buildId}.
   *
   * @return completes with the result when the build ends, however it ends
   * @throws IllegalArgumentException if a target is unknown or the id is taken
   * @throws IllegalStateException if the engine no longer accepts builds
   */
  CompletableFuture<BuildResult> submit(String buildId, List<String> targets, boolean keepGoing);

  /** Cancels a running build; false if no build with that id is running. */
  boolean cancel(String buildId);

  /** The builds and events to stream to subscribers. */
  BuildHistory history();
}
