/**
 * The default persistent {@link dev.buildnet.api.state.StateBackend}.
 *
 * <ul>
 *   <li>{@link dev.buildnet.state.SqliteStateBackend}: persistent, in one SQLite file; its locks
 *       exclude other processes on the same machine that open the same file. The default for real
 *       builds on one machine; its builder tunes durability and the busy timeout.
 *   <li>The in-memory backend ({@link dev.buildnet.api.state.StateBackend#inMemory()}): in the
 *       JVM's heap, gone at close; the only one with pub/sub. For tests and single-process tools.
 *       It has nothing to configure, so it has no public class.
 * </ul>
 *
 * <p>Both are safe for concurrent use, measure TTLs and leases on an injectable
 * {@link java.time.Clock} in whole milliseconds, never block waiting for a lock to be free, and must
 * be closed ({@code close()} is idempotent; afterwards operations throw
 * {@link java.lang.IllegalStateException}). They behave identically where their capabilities
 * overlap: both pass the same compatibility kit ({@code StateBackendCompatibilityKit} in this
 * module's test jar) and the same model-based property test. Everything else in this package is an
 * implementation detail.
 *
 * @since 0.1
 */
package dev.buildnet.state;
