package dev.buildnet.api.bundle;

import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildResult;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Runs one bundler or compiler (esbuild, bun, a generic command) for a target and reports its
 * artifacts, located errors, warnings and metrics in BuildNet's terms.
 *
 * <p>Implementations must be safe for concurrent use: several targets may build at once.
 * {@link #build} blocks until the tool finishes.
 *
 * @since 0.1
 */
public interface BundlerAdapter {
  /** A stable short name, part of every cache key the adapter contributes to, e.g. "esbuild". */
  String name();

  /** The tool's version, part of the cache key; {@code "unknown"} if it cannot be told. */
  String version();

  /** Whether the tool can run here; when not, the reason says what was looked for and where. */
  Availability availability();

  default boolean isAvailable() {
    return availability().available();
  }

  /**
   * Builds {@code context}. A tool failure is a result with {@code success == false} and errors,
   * not an exception; an exception means the adapter itself could not run.
   */
  BuildResult build(BuildContext context);

  /**
   * Rebuilds whenever the inputs change, calling {@code onRebuild} with each result, until the
   * returned handle is closed. Empty if the adapter cannot watch.
   */
  default Optional<AutoCloseable> watch(BuildContext context, Consumer<BuildResult> onRebuild) {
    return Optional.empty();
  }
}
