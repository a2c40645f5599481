package dev.buildnet.internal.state;

import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One connection to the state file with its prepared statements, used by one thread at a time:
 * neither driver's connections are safe for concurrent use (they are opened without SQLite's own
 * mutex), so every use happens between {@link #lock()} and {@link #unlock()}.
 */
public final class SqliteConnection {
  private final SqliteDatabase database;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<String, SqliteStatement> statements = new HashMap<>();
  private boolean closed; // guarded by lock

  SqliteConnection(SqliteDatabase database) {
    this.database = database;
  }

  public void lock() {
    lock.lock();
  }

  public void unlock() {
    lock.unlock();
  }

  public boolean isClosed() {
    return closed;
  }

  /** The cached statement for {@code sql}, prepared on first use; caller holds the lock. */
  public SqliteStatement statement(String sql) throws SQLException {
    SqliteStatement statement = statements.get(sql);
    if (statement == null) {
      statement = database.prepare(sql);
      statements.put(sql, statement);
    }
    return statement;
  }

  /**
   * Forgets every cached statement after a failure, so the next use prepares it afresh. Needed
   * because sqlite-jdbc finalizes a statement whose step fails (SQLITE_FULL, SQLITE_IOERR, a
   * constraint) but keeps the Java object open: a cached one would then fail forever with
   * "statement is not executing", even once the disk has room again. The native driver's
   * statements stay usable, but both drivers are treated alike. Caller holds the lock.
   */
  public void discardStatements() {
    for (SqliteStatement statement : statements.values()) {
      try {
        statement.close();
      } catch (SQLException alreadyFinalized) {
        // Nothing to release: the driver finalized it when it failed.
      }
    }
    statements.clear();
  }

  /**
   * Runs SQL that takes no parameters (DDL, a pragma that sets something), ignoring any row it
   * returns, without caching a statement.
   */
  void execute(String sql) throws SQLException {
    SqliteStatement statement = database.prepare(sql);
    try {
      statement.forEachRow(row -> false);
    } finally {
      statement.close();
    }
  }

  /**
   * Starts a write transaction that takes SQLite's write lock at once, so two processes doing
   * read-modify-write contend at BEGIN (where the busy timeout applies) instead of one failing
   * with SQLITE_BUSY when it upgrades a read to a write.
   */
  public void beginImmediate() throws SQLException {
    statement("BEGIN IMMEDIATE").run();
  }

  public void commit() throws SQLException {
    statement("COMMIT").run();
  }

  /** Rolls back if a transaction is open; never throws, since it runs while handling a failure. */
  public void rollbackQuietly() {
    try {
      statement("ROLLBACK").run();
    } catch (SQLException alreadyRolledBackOrNeverBegun) {
      // SQLite rolls back by itself on some errors; nothing is left to undo then.
    }
  }

  /** Closes statements and the connection; caller holds the lock. Idempotent. */
  public void close() throws SQLException {
    if (closed) {
      return;
    }
    closed = true;
    SQLException failure = null;
    for (SqliteStatement statement : statements.values()) {
      try {
        statement.close();
      } catch (SQLException e) {
        failure = e;
      }
    }
    statements.clear();
    try {
      database.close();
    } catch (SQLException e) {
      failure = e;
    }
    if (failure != null) {
      throw failure;
    }
  }
}
