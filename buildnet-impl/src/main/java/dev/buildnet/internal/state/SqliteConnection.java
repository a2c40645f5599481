package dev.buildnet.internal.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConnection;

/**
 * One JDBC connection to the state file with its prepared statements, used by one thread at a
 * time: sqlite-jdbc connections are not safe for concurrent use, so every use happens between
 * {@link #lock()} and {@link #unlock()}.
 */
public final class SqliteConnection {
  private final Connection connection;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<String, PreparedStatement> statements = new HashMap<>();
  private final Map<String, SqliteStatement> fast = new HashMap<>();
  private boolean closed; // guarded by lock

  SqliteConnection(Connection connection) throws SQLException {
    this.connection = connection;
    // sqlite-jdbc follows every statement that ends (SQLITE_DONE) on a connection in JDBC's
    // autocommit mode with a step of its own "begin;" and then "commit;": an empty transaction,
    // two more statement runs and four more native calls, about a tenth of a set. SQLite commits
    // a statement run outside a transaction by itself, so that pair changes nothing; telling the
    // driver the connection is not in autocommit mode skips it. The flag only steers the driver:
    // it runs no "begin;" for it, and the JDBC transaction methods (Connection.commit, rollback,
    // setAutoCommit, savepoints), the only other readers of the flag, are never used here:
    // transactions are stepped directly (beginImmediate, commit, rollbackQuietly).
    connection.unwrap(SQLiteConnection.class).getConnectionConfig().setAutoCommit(false);
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
  public PreparedStatement statement(String sql) throws SQLException {
    PreparedStatement statement = statements.get(sql);
    if (statement == null) {
      statement = connection.prepareStatement(sql);
      statements.put(sql, statement);
    }
    return statement;
  }

  /**
   * The cached statement for {@code sql} on the driver's core API ({@link SqliteStatement}), for
   * the hot paths; prepared on first use. Caller holds the lock.
   */
  public SqliteStatement fast(String sql) throws SQLException {
    SqliteStatement statement = fast.get(sql);
    if (statement == null) {
      statement = new SqliteStatement(connection.prepareStatement(sql));
      fast.put(sql, statement);
    }
    return statement;
  }

  /**
   * Forgets every cached statement after a failure, so the next use prepares it afresh. Needed
   * because sqlite-jdbc finalizes a statement whose step fails (SQLITE_FULL, SQLITE_IOERR, a
   * constraint) but keeps the Java object open: a cached one would then fail forever with
   * "statement is not executing", even once the disk has room again. Caller holds the lock.
   */
  public void discardStatements() {
    for (PreparedStatement statement : statements.values()) {
      try {
        statement.close();
      } catch (SQLException alreadyFinalized) {
        // Nothing to release: the driver finalized it when it failed.
      }
    }
    statements.clear();
    for (SqliteStatement statement : fast.values()) {
      try {
        statement.close();
      } catch (SQLException alreadyFinalized) {
        // As above.
      }
    }
    fast.clear();
  }

  /** Runs SQL that returns nothing (DDL, pragmas), without caching a statement. */
  void execute(String sql) throws SQLException {
    try (var statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  /**
   * Starts a write transaction that takes SQLite's write lock at once, so two processes doing
   * read-modify-write contend at BEGIN (where the busy timeout applies) instead of one failing
   * with SQLITE_BUSY when it upgrades a read to a write.
   */
  public void beginImmediate() throws SQLException {
    fast("BEGIN IMMEDIATE").run();
  }

  public void commit() throws SQLException {
    fast("COMMIT").run();
  }

  /** Rolls back if a transaction is open; never throws, since it runs while handling a failure. */
  public void rollbackQuietly() {
    try {
      fast("ROLLBACK").run();
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
    for (PreparedStatement statement : statements.values()) {
      try {
        statement.close();
      } catch (SQLException e) {
        failure = e;
      }
    }
    statements.clear();
    for (SqliteStatement statement : fast.values()) {
      try {
        statement.close();
      } catch (SQLException e) {
        failure = e;
      }
    }
    fast.clear();
    try {
      connection.close();
    } catch (SQLException e) {
      failure = e;
    }
    if (failure != null) {
      throw failure;
    }
  }
}
