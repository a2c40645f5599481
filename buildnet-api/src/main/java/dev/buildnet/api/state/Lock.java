package dev.buildnet.api.state;

import java.time.Instant;
import java.util.Objects;

/**
 * A lease on a named resource, granted by {@link StateBackend#acquireLock}.
 *
 * <p>The {@code fencingToken} strictly increases for every grant on the same resource and never
 * repeats, even across a restart of a persistent backend. Pass it to whatever the lock protects so
 * that a holder who lost the lease (paused, partitioned) is rejected by the protected resource:
 * it compares tokens and refuses one lower than the highest it has seen.
 *
 * @param resource the locked resource's name
 * @param owner who holds it, as given to {@code acquireLock}
 * @param fencingToken strictly increasing per resource, starting at 1
 * @param expiresAt when the lease lapses unless renewed, on the backend's clock
 * @since 0.1
 */
public record Lock(String resource, String owner, long fencingToken, Instant expiresAt) {
  public Lock {
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(expiresAt, "expiresAt");
    if (fencingToken < 1) {
      throw new IllegalArgumentException("fencingToken must be at least 1 but was " + fencingToken);
    }
  }
}
