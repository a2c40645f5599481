package dev.buildnet;

import dev.buildnet.api.build.BuildResult;
import java.util.ArrayList;
import java.util.List;
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
  private final List<Runnable> hooks = new ArrayList<>(); // guarded by itself
  private boolean stopped; // guarded by hooks

  static {
    // The engine makes and completes futures through this (see Futures); hosts cannot.
    dev.buildnet.internal.engine.Futures.register(
        new dev.buildnet.internal.engine.Futures.Access() {
          @Override
          public BuildFuture create(String buildId, Consumer<BuildFuture> canceller) {
            return new BuildFuture(buildId, canceller);
          }

          @Override
          public void complete(BuildFuture future, BuildResult result) {
            future.completeFromEngine(result);
          }
        });
  }

  private BuildFuture(String buildId, Consumer<BuildFuture> canceller) {
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

  /**
   * Runs {@code hook} once the build has stopped but before this future or {@link #result()}
   * completes, so that whoever waits on them sees what the hook did (the workspace lock is
   * released here: a caller that waited for a build can start the next one at once). Runs it at
   * once, on this thread, if the build has already stopped.
   */
  void beforeCompletion(Runnable hook) {
    synchronized (hooks) {
      if (!stopped) {
        hooks.add(hook);
        return;
      }
    }
    hook.run();
  }

  /** The engine's completion path (runs the before-completion hooks first). */
  private void completeFromEngine(BuildResult r) {
    List<Runnable> run;
    synchronized (hooks) {
      stopped = true;
      run = List.copyOf(hooks);
      hooks.clear();
    }
    for (Runnable hook : run) {
      try {
        hook.run();
      } catch (RuntimeException e) {
        // A hook must not keep the build from completing; the hooks are ours and log their own.
      }
    }
    complete(r); // first, so whoever waits on result() (drain, close) sees this future done
    result.complete(r);
  }
}
