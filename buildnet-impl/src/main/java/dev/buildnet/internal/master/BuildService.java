package dev.buildnet.internal.master;

import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.internal.events.BuildHistory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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

  /**
   * What a client's BUILD_REQUEST asks for besides its targets (docs/PROTOCOL.md, "Client
   * builds").
   *
   * @param keepGoing keep building what does not depend on a failed target
   * @param force the requested targets ignore cache hits (their dependencies do not)
   * @param env values for passthrough variables, in place of the master's (see {@code
   *     Target.withBuildOverrides}); empty for none
   * @param timeout a cap on every target's run time, or null
   * @since 0.1
   */
  record Options(boolean keepGoing, boolean force, Map<String, String> env, Duration timeout) {
    public Options {
      env = env == null ? Map.of() : Map.copyOf(env);
      if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
        throw new IllegalArgumentException("timeout must be positive but was " + timeout);
      }
    }

    /** Only {@code keepGoing}: what {@link #submit(String, List, boolean)} takes. */
    public static Options keepGoing(boolean keepGoing) {
      return new Options(keepGoing, false, Map.of(), null);
    }

    boolean onlyKeepGoing() {
      return !force && env.isEmpty() && timeout == null;
    }
  }

  /**
   * Like {@link #submit(String, List, boolean)} with a request's other options. The default
   * supports only {@code keepGoing} and throws {@link UnsupportedOperationException} for the rest
   * (the master answers ERROR {@code UNSUPPORTED}); {@code BuildNet} supports them all.
   *
   * @throws UnsupportedOperationException if an option is set that this service cannot honour
   * @since 0.1
   */
  default CompletableFuture<BuildResult> submit(String buildId, List<String> targets, Options options) {
    Objects.requireNonNull(options, "options");
    if (!options.onlyKeepGoing()) {
      throw new UnsupportedOperationException("this build service does not support 'force', 'env'"
          + " or 'timeout_ms'");
    }
    return submit(buildId, targets, options.keepGoing());
  }

  /**
   * Like {@link #submit(String, List, Options)}, naming who submitted the build (a remote client:
   * its id and address). The default ignores {@code origin}; {@code BuildNet} records it in its
   * history.
   *
   * @since 0.3
   */
  default CompletableFuture<BuildResult> submit(
      String buildId, List<String> targets, Options options, BuildOrigin origin) {
    return submit(buildId, targets, options);
  }

  /** Cancels a running build; false if no build with that id is running. */
  boolean cancel(String buildId);

  /** The builds and events to stream to subscribers. */
  BuildHistory history();
}
