package dev.buildnet;

import dev.buildnet.api.build.BuildResult;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A build in progress. It completes normally with the {@link BuildResult} whether or not the build
 * succeeded (check {@link BuildResult#success()}); it completes exceptionally only if BuildNet itself
 * failed.
 *
 * <p>{@link #cancel(boolean)} cancels the build: queued targets are dropped and running commands
 * have their whole process tree killed. The future then completes as cancelled (per the
 * {@link CompletableFuture} contract); {@link #result()} still yields the partial result with
 * CANCELLED and SKIPPED targets once everything has stopped.
 *
 * @since 0.1
 */
public final class BuildFuture extends CompletableFuture<BuildResult> {
  private final String buildId;
  private final Consumer<BuildFuture> canceller;
  private final CompletableFuture<BuildResult> result = new CompletableFuture<>();

  BuildFuture(String buildId, Consumer<BuildFuture> canceller) {
    this.buildId = buildId;
    this.canceller = canceller;
  }

  /** The build's id, as events and results name it. */
  public String buildId() {
    return buildId;
  }

  /**
   * Completes when the build has fully stopped, cancelled or not, with its (possibly partial)
   * result.
   */
  public CompletableFuture<BuildResult> result() {
    return result.copy();
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    boolean cancelled = super.cancel(mayInterruptIfRunning);
    if (cancelled) {
      canceller.accept(this);
    }
    return cancelled;
  }

  void completeFromEngine(BuildResult r) {
    complete(r); // first, so whoever waits on result() (drain, close) sees this future done
    result.complete(r);
  }
}
