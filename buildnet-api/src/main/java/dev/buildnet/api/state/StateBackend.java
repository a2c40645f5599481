package dev.buildnet.api.state;

import dev.buildnet.api.spi.DefaultProviders;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A key-value store with leases, fencing tokens and (optionally) pub/sub: where BuildNet keeps its
 * action cache, build records and coordination state.
 *
 * <h2>Threads</h2>
 * Implementations must be safe for concurrent use by any number of threads. Every method may block
 * on I/O (a disk write, a network round trip); none blocks waiting for a lock to be free —
 * {@link #acquireLock} returns at once when the resource is held.
 *
 * <h2>Values and keys</h2>
 * Keys are non-empty strings; values are byte arrays (copied on the way in and out), with
 * {@code String} conveniences that use UTF-8. A key with an expired TTL is absent for every
 * operation, whether or not it has been swept yet.
 *
 * <h2>Errors</h2>
 * Misuse (null or empty key, non-positive TTL) throws {@link IllegalArgumentException}; a failure of
 * the store throws {@link StateException}; use after {@link #close()} throws
 * {@link IllegalStateException}.
 *
 * <h2>Implementations</h2>
 * {@link #sqlite(Path)} (persistent, shared by processes on one machine) and {@link #inMemory()}
 * (ephemeral, with pub/sub). Every implementation passes the shared compatibility kit
 * {@code StateBackendCompatibilityKit} in {@code buildnet-impl}'s test jar.
 *
 * @since 0.1
 */
public interface StateBackend extends AutoCloseable {

  /**
   * A persistent backend in the SQLite file at {@code file} with defaults; the file and any missing
   * parent directories are created.
   *
   * @throws StateException if the file or its directories cannot be used; the message says why
   */
  static StateBackend sqlite(Path file) {
    return DefaultProviders.get().sqliteState(file);
  }

  /** A fresh, empty, ephemeral backend that lives in this JVM's heap. */
  static StateBackend inMemory() {
    return DefaultProviders.get().inMemoryState();
  }

  /** A short name for logs and errors, e.g. {@code "sqlite:/path/state.db"}. */
  String name();

  StateCapabilities capabilities();

  /** The value of {@code key}, or empty if it is absent or expired. */
  Optional<byte[]> get(String key);

  /** {@link #get} decoded as UTF-8. */
  default Optional<String> getString(String key) {
    return get(key).map(b -> new String(b, StandardCharsets.UTF_8));
  }

  /** Stores {@code value} under {@code key} with no expiry, replacing any value and TTL. */
  void set(String key, byte[] value);

  /**
   * Stores {@code value} under {@code key}, replacing any value; it expires {@code ttl} from now on
   * the backend's clock.
   *
   * @throws IllegalArgumentException if {@code ttl} is not positive
   */
  void set(String key, byte[] value, Duration ttl);

  default void setString(String key, String value) {
    set(key, value.getBytes(StandardCharsets.UTF_8));
  }

  default void setString(String key, String value, Duration ttl) {
    set(key, value.getBytes(StandardCharsets.UTF_8), ttl);
  }

  /** Removes {@code key}; returns whether a live value was removed. */
  boolean delete(String key);

  /**
   * Stores {@code value} only if {@code key} is absent (or expired). Returns whether it was stored.
   * {@code ttl} may be null for no expiry.
   */
  boolean setIfAbsent(String key, byte[] value, Duration ttl);

  /**
   * Atomically replaces the value of {@code key} with {@code update} if its current value equals
   * {@code expected} byte for byte; {@code expected == null} means "only if absent". The new value
   * has no expiry. Returns whether the swap happened.
   */
  boolean compareAndSet(String key, byte[] expected, byte[] update);

  /** Every live key that starts with {@code prefix} (empty: every key), in ascending order. */
  List<String> keys(String prefix);

  /**
   * Atomically adds {@code delta} to the integer stored (as decimal text) under {@code key},
   * treating an absent key as 0, and returns the new value. An existing TTL is kept.
   *
   * @throws StateException if the stored value is not a decimal integer or the sum overflows
   */
  long increment(String key, long delta);

  /**
   * Takes a lease on {@code resource} for {@code ttl} if no one holds it (an expired lease counts as
   * free). Locks are not reentrant: an owner that already holds the resource gets empty. Returns at
   * once, never waits.
   *
   * @return the granted lock, with a fencing token higher than any previously granted for
   *     {@code resource}; empty if the resource is held
   */
  Optional<Lock> acquireLock(String resource, Duration ttl, String owner);

  /**
   * Extends a lease to {@code ttl} from now. Succeeds only if {@code lock} is still the current,
   * unexpired lease (same owner, same fencing token).
   *
   * @return the lock with its new expiry; the fencing token is unchanged
   * @throws StateException ({@link StateException.Reason#LOCK_NOT_HELD LOCK_NOT_HELD}) if the
   *     lease was released, expired, or granted to someone else
   */
  Lock renew(Lock lock, Duration ttl);

  /**
   * Gives up a lease. Succeeds only if {@code lock} is still the current, unexpired lease.
   *
   * @throws StateException ({@link StateException.Reason#LOCK_NOT_HELD LOCK_NOT_HELD}) if the
   *     lease was already released, expired, or granted to someone else — including a second
   *     release of the same lock
   */
  void release(Lock lock);

  /**
   * Calls {@code listener} with each message later published on {@code channel}. Listeners run on a
   * backend thread, in publish order per channel, and must not block for long.
   *
   * @throws UnsupportedOperationException if {@code capabilities().pubSub()} is false
   */
  Subscription subscribe(String channel, Consumer<byte[]> listener);

  /**
   * Delivers {@code message} to every current subscriber of {@code channel}; returns at once.
   *
   * @throws UnsupportedOperationException if {@code capabilities().pubSub()} is false
   */
  void publish(String channel, byte[] message);

  /**
   * Why writes to this backend fail now, in one line (e.g. {@code "cannot write to
   * sqlite:/w/.buildnet/state.db: the disk holding /w/.buildnet is full: 8192 bytes free"}), or
   * empty while they succeed. Set by a write that fails for a reason of the store (a full disk, an
   * I/O error), cleared by the next write that succeeds. Never blocks: health checks call it. The
   * default, for a backend that does not track this, is always empty.
   */
  default Optional<String> writeFailure() {
    return Optional.empty();
  }

  /**
   * Releases the backend's resources (connections, threads, file handles). Idempotent. Pending
   * subscriptions stop receiving messages.
   */
  @Override
  void close();
}
