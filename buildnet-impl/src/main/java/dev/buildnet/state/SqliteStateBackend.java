package dev.buildnet.state;

import dev.buildnet.internal.state.LockMessages;
import dev.buildnet.internal.state.SqliteConnection;
import dev.buildnet.internal.state.SqliteErrors;
import dev.buildnet.internal.state.SqliteFile;
import dev.buildnet.internal.state.SqliteMaintenance;
import dev.buildnet.internal.state.SqliteStatement;
import dev.buildnet.internal.state.StateArgs;

import static dev.buildnet.internal.state.StateArgs.expiresAt;
import static dev.buildnet.internal.StateChecks.requireKey;
import static dev.buildnet.internal.StateChecks.requireLock;
import static dev.buildnet.internal.StateChecks.requireName;
import static dev.buildnet.internal.StateChecks.requirePrefix;
import static dev.buildnet.internal.StateChecks.requireTtl;
import static dev.buildnet.internal.StateChecks.requireValue;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import dev.buildnet.internal.DiskSpace;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A persistent {@link StateBackend} in one SQLite file, shared safely by the threads of a process
 * and by processes on the same machine.
 *
 * <h2>When to use</h2>
 * The default for a single machine: state survives restarts and crashes, and locks exclude
 * holders in other processes that open the same file. It is not for several machines (a network
 * file system breaks SQLite's locking); use a networked backend there. Pub/sub is not supported:
 * {@link #subscribe} and {@link #publish} throw {@link UnsupportedOperationException}.
 *
 * <h2>Threads and cost</h2>
 * Safe for concurrent use. Writes go through one connection, one at a time; reads use a second
 * connection and proceed while a write is in progress (SQLite's WAL mode). Every method blocks on
 * disk I/O; a write also waits while another process writes, up to the
 * {@link Builder#busyTimeout busy timeout}, then fails with {@link StateException}. A read costs
 * under ten microseconds, a write a few tens, and {@link #setAll} amortises the commit over many
 * keys. One daemon thread, {@code buildnet-state-sweeper}, deletes expired rows now and then and
 * copies the write-ahead log into the file (a checkpoint, which flushes the disk) after every few
 * hundred writes, so that callers do not wait for the bulk of it; writes wait only for a short
 * second pass over the pages written meanwhile (one more flush), which lets the log start over
 * and stay short.
 *
 * <h2>Durability</h2>
 * Every method that changes state has committed when it returns, so a crash of the process (even
 * {@code kill -9}) loses nothing that returned. What a power failure or OS crash may lose depends on
 * {@link Synchronous}.
 *
 * <h2>Time</h2>
 * TTLs and leases are epoch milliseconds on the {@link Builder#clock clock} (default: the system
 * UTC clock); a TTL with a sub-millisecond part is rounded up. Processes that share a file compare
 * each other's expiry times, so they must share a wall clock (same machine: they do). Expired keys
 * are absent for every operation at once and are deleted from the file later, in small batches,
 * by the sweeper thread.
 *
 * <h2>The file</h2>
 * Created if absent, in WAL mode, beside {@code <file>-wal} and {@code <file>-shm}. The parent
 * directory must exist: opening a path whose directory is missing fails with a
 * {@link StateException} naming the directory, since a mistyped path should not silently create a
 * new, empty store somewhere ({@code StateBackend.sqlite(path)}, the convenience, creates it).
 * A file that is not a BuildNet state database (not SQLite, or SQLite
 * with foreign tables), is read-only, or was written by a newer BuildNet with a newer schema is
 * refused with a {@link StateException} and left untouched.
 *
 * <h2>A full disk</h2>
 * A write that fails because the disk is full (or on an I/O error) throws a {@link StateException}
 * that names the directory and the bytes still free, and {@link #writeFailure()} reports it until
 * a write succeeds again. Nothing needs reopening: the failed write was rolled back, and the next
 * one works as soon as the disk has room.
 *
 * <h2>The SQLite library</h2>
 * On Linux x86-64 (glibc 2.34 or later) the backend runs a small native binding of BuildNet's
 * own, shipped in this jar with SQLite compiled in, which makes each operation one native call;
 * elsewhere, or if that library fails to load (a temporary directory mounted {@code noexec}, an
 * older C library), or with {@code -Dbuildnet.sqlite.native=false}, it runs sqlite-jdbc and the SQLite it bundles,
 * and logs one line saying why. The choice is made once per process and every backend in the
 * process uses it. Do not open a state file through another SQLite library in the same process
 * while a backend has it open (sqlite-jdbc's {@code DriverManager} connection beside the native
 * binding, say): POSIX locks belong to the process, so two copies of SQLite in one process do not
 * see each other's locks, and one closing the file drops the other's. Other processes may use
 * either library on the same file.
 *
 * <h2>Shutting down</h2>
 * {@link #close()} stops the sweeper thread and closes the connections; it waits for a running
 * operation to finish. Afterwards every method except {@link #name()} and {@link #capabilities()}
 * throws {@link IllegalStateException}.
 *
 * @since 0.1
 */
public final class SqliteStateBackend implements StateBackend {
  /** Rows per sweep transaction: small, so a caller waits at most about a millisecond. */
  static final int SWEEP_BATCH = 256;
  /** Rows per statement in {@link #setAll}, the largest of {@link #PUT_ROWS}. */
  static final int SET_ALL_ROWS = 128;

  private static final StateCapabilities CAPABILITIES =
      new StateCapabilities(false, true, true, false);
  private static final String LIVE = "(expires_at IS NULL OR expires_at > ?)";
  private static final String GET = "SELECT value FROM kv WHERE key = ? AND " + LIVE;
  private static final String GET_WITH_EXPIRY =
      "SELECT value, expires_at FROM kv WHERE key = ? AND " + LIVE;
  // An upsert, not INSERT OR REPLACE: REPLACE deletes and reinserts, which with the expiry index
  // costs three times as much per write.
  private static final String UPSERT = " ON CONFLICT (key) DO UPDATE"
      + " SET value = excluded.value, expires_at = excluded.expires_at";
  private static final String PUT =
      "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)" + UPSERT;
  // Without an expiry the NULL is written into the statement: one bind less per set.
  private static final String PUT_FOREVER =
      "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, NULL)" + UPSERT;
  // Many rows in one statement: SQLite starts the statement, checks the transaction and seeks the
  // index once per statement rather than once per row, and the driver steps and resets it once; a
  // 1,000-row setAll takes about a third less CPU than with one row per statement. PUT_ROWS[i]
  // writes 2^i rows, up to SET_ALL_ROWS, so that any remainder is a few statements (one per bit of
  // its size), not one per row.
  private static final String[] PUT_ROWS = putRows();
  private static final String DELETE = "DELETE FROM kv WHERE key = ? AND " + LIVE;
  // Inserts, or overwrites only a row that has expired but has not been swept yet.
  private static final String PUT_IF_ABSENT = PUT
      + " WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?";
  private static final String SWAP =
      "UPDATE kv SET value = ?, expires_at = NULL WHERE key = ? AND value = ? AND " + LIVE;
  private static final String KEYS_FROM =
      "SELECT key FROM kv WHERE key >= ? AND " + LIVE + " ORDER BY key";
  private static final String LEASE = "SELECT owner, token, expires_at FROM locks WHERE resource = ?";
  // Grants the lease to ?2 until ?3 unless a live one (expiring after ?4) holds it, with the token
  // after the resource's last one, and returns that token; no row if the lease was live. One
  // statement instead of a read of the lease, a token upsert and a grant.
  private static final String GRANT = "INSERT INTO locks (resource, owner, token, expires_at)"
      + " VALUES (?1, ?2, coalesce((SELECT last_token FROM fencing WHERE resource = ?1), 0) + 1, ?3)"
      + " ON CONFLICT (resource) DO UPDATE"
      + " SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at"
      + " WHERE locks.expires_at <= ?4 RETURNING token";
  // Records the token GRANT handed out, in the same transaction, so it is never handed out again
  // (lock rows are deleted on release; this one stays).
  private static final String RECORD_TOKEN = "INSERT INTO fencing (resource, last_token)"
      + " VALUES (?, ?) ON CONFLICT (resource) DO UPDATE SET last_token = excluded.last_token";
  private static final String RENEW = "UPDATE locks SET expires_at = ?"
      + " WHERE resource = ? AND owner = ? AND token = ? AND expires_at > ?";
  private static final String RELEASE =
      "DELETE FROM locks WHERE resource = ? AND owner = ? AND token = ? AND expires_at > ?";
  private static final String SWEEP_KV = "DELETE FROM kv WHERE key IN"
      + " (SELECT key FROM kv WHERE expires_at <= ? LIMIT " + SWEEP_BATCH + ")";
  private static final String SWEEP_LOCKS = "DELETE FROM locks WHERE resource IN"
      + " (SELECT resource FROM locks WHERE expires_at <= ? LIMIT " + SWEEP_BATCH + ")";

  private final Path file;
  private final String name;
  private final Clock clock;
  private final Duration busyTimeout;
  private final SqliteConnection writer;
  private final SqliteConnection reader;
  private final SqliteMaintenance maintenance;
  private volatile boolean closed;
  /** Why the last write failed; null once a write succeeds again. See {@link #writeFailure()}. */
  private volatile String writeFailure;

  private SqliteStateBackend(Builder builder, SqliteFile.Connections connections) {
    this.file = builder.file;
    this.name = "sqlite:" + builder.file;
    this.clock = builder.clock;
    this.busyTimeout = builder.busyTimeout;
    this.writer = connections.writer();
    this.reader = connections.reader();
    this.maintenance = new SqliteMaintenance(name, connections.checkpointer(), connections.writer(),
        this::sweepExpired, builder.sweepInterval);
  }

  /**
   * Opens (creating if absent) the state database at {@code file} with the defaults.
   *
   * @throws StateException if the file cannot be used; the message says why
   */
  public static SqliteStateBackend open(Path file) {
    return builder(file).open();
  }

  /** Configures a backend on {@code file}; nothing is opened until {@link Builder#open()}. */
  public static Builder builder(Path file) {
    if (file == null) {
      throw new IllegalArgumentException("file must not be null");
    }
    return new Builder(file);
  }

  /** {@code "sqlite:"} followed by the file's absolute path. */
  @Override
  public String name() {
    return name;
  }

  @Override
  public StateCapabilities capabilities() {
    return CAPABILITIES;
  }

  @Override
  public Optional<byte[]> get(String key) {
    requireKey(key);
    // An unbound method reference captures nothing, so the hottest call of all allocates no lambda.
    return read("read key", key, SqliteStateBackend::valueNow);
  }

  private Optional<byte[]> valueNow(String key) throws SQLException {
    return Optional.ofNullable(reader.statement(GET).queryBytes(key, clock.millis()));
  }

  @Override
  public void set(String key, byte[] value) {
    requireKey(key);
    requireValue(value, "value");
    write("write key", key, () -> put(key, value, null));
  }

  @Override
  public void set(String key, byte[] value, Duration ttl) {
    requireKey(key);
    requireValue(value, "value");
    requireTtl(ttl, "ttl");
    write("write key", key, () -> put(key, value, expiresAt(clock.millis(), ttl)));
  }

  /**
   * Stores every entry of {@code entries}, with no expiry, in one transaction: all or none are
   * stored, and the commit is paid once (storing 1,000 small values takes about as long as a few
   * dozen single {@link #set}s).
   *
   * @throws IllegalArgumentException if {@code entries} or any key or value in it is null, or a key
   *     is empty; nothing is stored then
   */
  public void setAll(Map<String, byte[]> entries) {
    if (entries == null) {
      throw new IllegalArgumentException("entries must not be null");
    }
    for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
      String key = requireKey(entry.getKey());
      if (entry.getValue() == null) {
        // The message is built only when it fails, not once per entry.
        requireValue(null, "value of key '" + key + "'");
      }
    }
    transaction("write " + entries.size() + " keys", "", () -> {
      Object[] rows = new Object[2 * SET_ALL_ROWS];
      int filled = 0;
      for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
        rows[filled++] = entry.getKey();
        rows[filled++] = entry.getValue();
        if (filled == rows.length) {
          writer.statement(PUT_ROWS[PUT_ROWS.length - 1]).execute(rows);
          filled = 0;
        }
      }
      // The rest, fewer than SET_ALL_ROWS rows: one statement per bit of its count, largest first.
      int from = 0;
      for (int i = PUT_ROWS.length - 2; i >= 0; i--) {
        int width = 2 << i; // 2^i rows of two arguments each
        if (filled - from >= width) {
          writer.statement(PUT_ROWS[i]).execute(Arrays.copyOfRange(rows, from, from + width));
          from += width;
        }
      }
      return 1 + entries.size() / 16;
    });
  }

  /** {@code PUT_ROWS[i]}: the upsert of 2^i rows without expiry; the last has SET_ALL_ROWS. */
  private static String[] putRows() {
    String[] statements = new String[Integer.numberOfTrailingZeros(SET_ALL_ROWS) + 1];
    statements[0] = PUT_FOREVER;
    for (int i = 1; i < statements.length; i++) {
      statements[i] = "INSERT INTO kv (key, value, expires_at) VALUES "
          + String.join(", ", Collections.nCopies(1 << i, "(?, ?, NULL)")) + UPSERT;
    }
    return statements;
  }

  @Override
  public boolean delete(String key) {
    requireKey(key);
    return write("delete key", key, () -> {
      return writer.statement(DELETE).update(key, clock.millis());
    }) > 0;
  }

  @Override
  public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
    requireKey(key);
    requireValue(value, "value");
    if (ttl != null) {
      requireTtl(ttl, "ttl");
    }
    return write("setIfAbsent key", key, () -> {
      long now = clock.millis();
      return writer.statement(PUT_IF_ABSENT)
          .update(key, value, ttl == null ? null : expiresAt(now, ttl), now);
    }) > 0;
  }

  @Override
  public boolean compareAndSet(String key, byte[] expected, byte[] update) {
    requireKey(key);
    requireValue(update, "update");
    if (expected == null) {
      return setIfAbsent(key, update, null);
    }
    return write("compareAndSet key", key, () -> {
      return writer.statement(SWAP).update(update, key, expected, clock.millis());
    }) > 0;
  }

  @Override
  public List<String> keys(String prefix) {
    requirePrefix(prefix);
    List<String> keys = read("list keys with prefix", prefix, () -> {
      List<String> found = new ArrayList<>();
      // SQLite orders keys by their UTF-8 bytes, in which every key with the prefix comes right
      // after the prefix itself: stop at the first one without it.
      reader.statement(KEYS_FROM).forEachRow(row -> {
        String key = row.text(0);
        if (!key.startsWith(prefix)) {
          return false;
        }
        found.add(key);
        return true;
      }, prefix, clock.millis());
      return found;
    });
    // UTF-8 byte order and String order differ for characters beyond U+FFFF; promise String order.
    Collections.sort(keys);
    return keys;
  }

  @Override
  public long increment(String key, long delta) {
    requireKey(key);
    long[] next = new long[1];
    transaction("increment key", key, () -> {
      long now = clock.millis();
      Object[] found = writer.statement(GET_WITH_EXPIRY).queryRow(
          row -> new Object[] {bytes(row, 0), row.isNull(1) ? null : row.longValue(1)}, key, now);
      byte[] current = found == null ? null : (byte[]) found[0];
      Long expiresAt = found == null ? null : (Long) found[1];
      next[0] = StateArgs.incremented(name, key, current, delta);
      put(key, StateArgs.encodeCounter(next[0]), expiresAt);
      return 1;
    });
    return next[0];
  }

  @Override
  public Optional<Lock> acquireLock(String resource, Duration ttl, String owner) {
    requireName(resource, "resource");
    requireTtl(ttl, "ttl");
    requireName(owner, "owner");
    // A cheap look first: a held lock is refused without taking the database's write lock, which
    // keeps contenders that retry in a loop from slowing down everyone else's writes.
    Lock seen = read("acquire lock", resource, () -> lease(reader, resource));
    if (seen != null && seen.expiresAt().toEpochMilli() > clock.millis()) {
      return Optional.empty();
    }
    Lock[] granted = new Lock[1];
    // The check, the new fencing token and the grant commit together: no other process can slip
    // a grant in between, and a token once returned is on disk and never handed out again.
    transaction("acquire lock", resource, () -> {
      long now = clock.millis();
      long expiresAt = expiresAt(now, ttl);
      // The check and the grant in one statement: no row back means a live lease was left alone.
      Long token = writer.statement(GRANT).queryRow(row -> row.longValue(0),
          resource, owner, expiresAt, now);
      if (token == null) {
        return 0;
      }
      writer.statement(RECORD_TOKEN).execute(resource, token);
      granted[0] = new Lock(resource, owner, token, Instant.ofEpochMilli(expiresAt));
      return 2;
    });
    return Optional.ofNullable(granted[0]);
  }

  @Override
  public Lock renew(Lock lock, Duration ttl) {
    requireLock(lock);
    requireTtl(ttl, "ttl");
    long[] expiresAt = new long[1];
    write("renew lock", lock.resource(), () -> {
      long now = clock.millis();
      expiresAt[0] = expiresAt(now, ttl);
      if (writer.statement(RENEW).update(expiresAt[0], lock.resource(), lock.owner(),
          lock.fencingToken(), now) == 0) {
        throw notHeld(lock, now);
      }
      return 1;
    });
    return new Lock(
        lock.resource(), lock.owner(), lock.fencingToken(), Instant.ofEpochMilli(expiresAt[0]));
  }

  @Override
  public void release(Lock lock) {
    requireLock(lock);
    write("release lock", lock.resource(), () -> {
      long now = clock.millis();
      if (writer.statement(RELEASE).update(lock.resource(), lock.owner(), lock.fencingToken(), now)
          == 0) {
        throw notHeld(lock, now);
      }
      return 1;
    });
  }

  /** Always throws: this backend has no pub/sub ({@code capabilities().pubSub()} is false). */
  @Override
  public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    throw new UnsupportedOperationException(
        name + " does not support pub/sub (capabilities().pubSub() is false)");
  }

  /** Always throws: this backend has no pub/sub ({@code capabilities().pubSub()} is false). */
  @Override
  public void publish(String channel, byte[] message) {
    throw new UnsupportedOperationException(
        name + " does not support pub/sub (capabilities().pubSub() is false)");
  }

  /**
   * Why writes fail now, e.g. {@code "cannot write to sqlite:/w/.buildnet/state.db: the disk
   * holding /w/.buildnet is full: 8192 bytes free"}; empty while they succeed. Recorded by a write
   * that SQLite refused, and cleared by the next one that succeeds: the backend needs no restart
   * once the disk has room again, since a failed write leaves no transaction open and no broken
   * statement behind.
   */
  @Override
  public Optional<String> writeFailure() {
    return Optional.ofNullable(writeFailure);
  }

  /**
   * Stops the sweeper, waits for running operations, and closes the connections, which checkpoints
   * the WAL into the file. Idempotent.
   *
   * @throws StateException if SQLite reports an error while closing; the backend is closed anyway
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    SQLException failure = null;
    try {
      maintenance.close();
    } catch (SQLException e) {
      failure = e;
    }
    // The writer last: the last connection to close checkpoints the WAL and deletes it.
    for (SqliteConnection connection : List.of(reader, writer)) {
      connection.lock();
      try {
        connection.close();
      } catch (SQLException e) {
        failure = e;
      } finally {
        connection.unlock();
      }
    }
    // Bounded: a sweep gives up after its current batch, which closing the writer waited for.
    maintenance.awaitTermination();
    if (failure != null) {
      throw new StateException(name + ": error while closing: " + failure.getMessage(), failure);
    }
  }

  @Override
  public String toString() {
    return "SqliteStateBackend[" + file + (closed ? ", closed]" : "]");
  }

  /**
   * Deletes expired keys and leases, one small transaction at a time so that callers wait at most
   * one batch. Returns how many rows were deleted. The sweeper thread calls this periodically.
   */
  int sweepExpired() {
    int total = 0;
    for (String sweep : List.of(SWEEP_KV, SWEEP_LOCKS)) {
      int deleted;
      do {
        writer.lock();
        try {
          if (closed || writer.isClosed()) {
            return total;
          }
          deleted = writer.statement(sweep).update(clock.millis());
          wrote(deleted > 0 ? 1 + deleted / 16 : 0);
        } catch (SQLException e) {
          throw writeFailed("delete expired rows", "", e);
        } finally {
          writer.unlock();
        }
        total += deleted;
      } while (deleted == SWEEP_BATCH);
    }
    return total;
  }

  /**
   * Caps the database at {@code pages} pages on the writer connection (SQLite's max_page_count), so
   * that tests get a real SQLITE_FULL from SQLite without a full disk; returns the cap in force,
   * which SQLite never sets below the current size. For tests.
   */
  long capPages(long pages) {
    writer.lock();
    try {
      return writer.statement("PRAGMA max_page_count = " + pages).queryRow(row -> row.longValue(0));
    } catch (SQLException e) {
      throw failure("cap the page count", "", e);
    } finally {
      writer.unlock();
    }
  }

  /** The background maintenance, for tests. */
  SqliteMaintenance maintenance() {
    return maintenance;
  }

  // --- running statements ---

  /** Work on a connection; returns a result (for writes: roughly how many pages it changed). */
  @FunctionalInterface
  private interface SqlWork<T> {
    T run() throws SQLException;
  }

  /** Work on a connection about one subject (a key), given the backend it runs on. */
  @FunctionalInterface
  private interface SubjectWork<T> {
    T run(SqliteStateBackend backend, String subject) throws SQLException;
  }

  private <T> T read(String action, String subject, SqlWork<T> work) {
    return read(action, subject, (backend, s) -> work.run());
  }

  private <T> T read(String action, String subject, SubjectWork<T> work) {
    reader.lock();
    try {
      ensureOpen(reader);
      return work.run(this, subject);
    } catch (SQLException e) {
      reader.discardStatements();
      throw failure(action, subject, e);
    } finally {
      reader.unlock();
    }
  }

  /** One statement in autocommit mode: atomic on its own, committed when this returns. */
  private int write(String action, String subject, SqlWork<Integer> work) {
    writer.lock();
    try {
      ensureOpen(writer);
      int changed = work.run();
      wrote(changed);
      return changed;
    } catch (SQLException e) {
      throw writeFailed(action, subject, e);
    } finally {
      writer.unlock();
    }
  }

  /**
   * Several statements in one transaction that takes SQLite's write lock at once (BEGIN
   * IMMEDIATE), so that processes doing read-modify-write contend at BEGIN, where the busy timeout
   * applies, instead of one failing when it upgrades a read to a write.
   */
  private void transaction(String action, String subject, SqlWork<Integer> work) {
    write(action, subject, () -> {
      writer.beginImmediate();
      try {
        int changed = work.run();
        writer.commit();
        return changed;
      } catch (SQLException | RuntimeException e) {
        writer.rollbackQuietly();
        throw e;
      }
    });
  }

  // --- helpers; callers hold the relevant connection's lock ---

  private void wrote(int pages) {
    maintenance.wrote(pages);
    if (writeFailure != null) {
      writeFailure = null;
    }
  }

  /**
   * Leaves the writer as good as new after a failed write, records why for {@link #writeFailure},
   * and returns the exception to throw. A statement that failed in autocommit mode was rolled back
   * by SQLite itself, and a failed transaction by {@link #transaction}; the rollback here only
   * guards against a COMMIT that failed with the transaction still open.
   */
  private StateException writeFailed(String action, String subject, SQLException e) {
    writer.rollbackQuietly();
    writer.discardStatements();
    writeFailure = "cannot write to " + name + ": " + reason(e);
    return failure(action, subject, e);
  }

  /** Stores one key (an upsert changes exactly one row); returns 1, the pages it changed. */
  private int put(String key, byte[] value, Long expiresAt) throws SQLException {
    if (expiresAt == null) {
      writer.statement(PUT_FOREVER).execute(key, value);
    } else {
      writer.statement(PUT).execute(key, value, expiresAt);
    }
    return 1;
  }

  private static Lock lease(SqliteConnection connection, String resource) throws SQLException {
    return connection.statement(LEASE).queryRow(row -> new Lock(resource, row.text(0),
        row.longValue(1), Instant.ofEpochMilli(row.longValue(2))), resource);
  }

  private StateException notHeld(Lock lock, long now) throws SQLException {
    return StateException.lockNotHeld(
        lock, LockMessages.notHeld(name, lock, lease(writer, lock.resource()), now));
  }

  private static byte[] bytes(SqliteStatement row, int column) throws SQLException {
    byte[] value = row.bytes(column);
    // sqlite-jdbc reads a zero-length BLOB as null; the column is NOT NULL, so null means empty.
    return value == null ? new byte[0] : value;
  }

  private void ensureOpen(SqliteConnection connection) {
    if (closed || connection.isClosed()) {
      throw new IllegalStateException(name + " is closed");
    }
  }

  private StateException failure(String action, String subject, SQLException e) {
    String what = subject.isEmpty() ? action : action + " '" + subject + "'";
    return new StateException(
        name + ": cannot " + what + ": " + reason(e) + " (" + e.getMessage() + ")", e);
  }

  /** What went wrong, in words, for SQLite's result code. */
  private String reason(SQLException e) {
    return switch (SqliteErrors.primaryCode(e)) {
      case 5, 6 -> "the database stayed locked by another connection or process for longer than"
          + " the busy timeout of " + busyTimeout.toMillis() + " ms";
      case 8 -> "the database file or its directory is read-only";
      case 10 -> DiskSpace.ioError(file.getParent());
      case 11, 26 -> file + " is corrupt or not a valid BuildNet state database";
      case 13 -> DiskSpace.full(file.getParent());
      default -> "SQLite failed";
    };
  }

  /**
   * How hard SQLite works to make a commit survive a power failure or OS crash. Either way, a
   * crash of the process alone loses nothing that was committed, and the file is never corrupted.
   *
   * @since 0.1
   */
  public enum Synchronous {
    /**
     * The default. Commits are not flushed to disk one by one (only at WAL checkpoints), so a
     * power failure or OS crash can lose the most recent commits; the database stays consistent
     * and never corrupts. Writes cost a few tens of microseconds.
     */
    NORMAL,
    /**
     * Every commit is flushed to disk before it returns, so a power failure loses nothing that was
     * committed. Each write then costs a disk flush (from about a hundred microseconds to tens of
     * milliseconds, depending on the disk).
     */
    FULL
  }

  /**
   * Configures a {@link SqliteStateBackend}. Each setting may be given once; {@link #open()} checks
   * the file and opens it. Not thread-safe.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final Path file;
    private Synchronous synchronous;
    private Duration busyTimeout;
    private Clock clock;
    private Duration sweepInterval;

    private Builder(Path file) {
      this.file = file.toAbsolutePath().normalize();
      if (this.file.toString().indexOf('?') >= 0) {
        // sqlite-jdbc would read what follows '?' as connection options.
        throw new IllegalArgumentException("file must not contain '?' but was " + file);
      }
    }

    /** Durability against power failure; default {@link Synchronous#NORMAL}. */
    public Builder synchronous(Synchronous synchronous) {
      if (synchronous == null) {
        throw new IllegalArgumentException("synchronous must not be null");
      }
      if (this.synchronous != null) {
        throw new IllegalStateException("synchronous was already set to " + this.synchronous);
      }
      this.synchronous = synchronous;
      return this;
    }

    /**
     * How long a write waits while another process holds the database's write lock before failing
     * with {@link StateException}; default 5 seconds. Between 1 ms and {@code Integer.MAX_VALUE} ms.
     */
    public Builder busyTimeout(Duration busyTimeout) {
      if (this.busyTimeout != null) {
        throw new IllegalStateException("busy timeout was already set to " + this.busyTimeout);
      }
      this.busyTimeout = requireMillis(busyTimeout, "busyTimeout");
      return this;
    }

    /** The clock TTLs and leases are measured on; default {@link Clock#systemUTC()}. */
    public Builder clock(Clock clock) {
      if (clock == null) {
        throw new IllegalArgumentException("clock must not be null");
      }
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set to " + this.clock);
      }
      this.clock = clock;
      return this;
    }

    /**
     * How often the sweeper deletes expired keys and leases from the file; default 1 minute.
     * Expired keys are absent either way; sweeping only reclaims space.
     */
    public Builder sweepInterval(Duration sweepInterval) {
      if (this.sweepInterval != null) {
        throw new IllegalStateException("sweep interval was already set to " + this.sweepInterval);
      }
      this.sweepInterval = requireMillis(sweepInterval, "sweepInterval");
      return this;
    }

    /**
     * Opens the database, creating the file and schema if needed.
     *
     * @throws StateException if the directory is missing, the file is read-only, not a BuildNet
     *     state database, has a newer schema, or SQLite fails; the file is left untouched
     */
    public SqliteStateBackend open() {
      if (synchronous == null) {
        synchronous = Synchronous.NORMAL;
      }
      if (busyTimeout == null) {
        busyTimeout = Duration.ofSeconds(5);
      }
      if (clock == null) {
        clock = Clock.systemUTC();
      }
      if (sweepInterval == null) {
        sweepInterval = Duration.ofMinutes(1);
      }
      return new SqliteStateBackend(
          this, SqliteFile.open(file, synchronous == Synchronous.FULL, busyTimeout));
    }

    private static Duration requireMillis(Duration duration, String argument) {
      if (duration == null) {
        throw new IllegalArgumentException(argument + " must not be null");
      }
      if (duration.compareTo(Duration.ofMillis(1)) < 0
          || duration.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0) {
        throw new IllegalArgumentException(
            argument + " must be between 1 ms and " + Integer.MAX_VALUE + " ms but was " + duration);
      }
      return duration;
    }
  }
}
