package dev.buildnet.internal.engine;

import dev.buildnet.BuildFuture;
import dev.buildnet.api.build.BuildResult;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How the engine makes and completes {@link BuildFuture}s, whose constructor and completion path
 * are not public: a host gets futures from {@code BuildNet.build} and cannot complete one.
 * {@code BuildFuture} registers the accessor when its class initializes.
 */
public final class Futures {
  private Futures() {}

  /** Implemented once, by {@code BuildFuture}. */
  public interface Access {
    BuildFuture create(String buildId, Consumer<BuildFuture> canceller);

    void complete(BuildFuture future, BuildResult result);
  }

  private static volatile Access access;

  /** Called by {@code BuildFuture}'s static initializer; a second call is refused. */
  public static synchronized void register(Access a) {
    if (access != null) {
      throw new IllegalStateException("BuildFuture access is already registered");
    }
    access = Objects.requireNonNull(a, "access");
  }

  static BuildFuture create(String buildId, Consumer<BuildFuture> canceller) {
    return access().create(buildId, canceller);
  }

  static void complete(BuildFuture future, BuildResult result) {
    access().complete(future, result);
  }

  private static Access access() {
    Access a = access;
    if (a == null) {
      try {
        // Initializing the class runs its registration; nothing else may have touched it yet.
        Class.forName(BuildFuture.class.getName(), true, Futures.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
      a = access;
    }
    return a;
  }
}
