package dev.buildnet.internal.state;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.sqlite.core.Codes;
import org.sqlite.core.CoreStatement;
import org.sqlite.core.DB;

/**
 * The {@link SqliteStatement} of the {@link SqliteDriver#jdbc() sqlite-jdbc driver}: a prepared
 * statement run through sqlite-jdbc's core API ({@code org.sqlite.core}, which the
 * driver exports) instead of JDBC: bind, step, read the columns of one row, reset, and nothing
 * else. The JDBC path costs about a quarter more per call for the same SQL: every query reads the
 * column count and names back from SQLite and builds a result set, every update asks for the
 * changes twice and goes through the driver's timeout and transaction-mode wrappers. The
 * {@link PreparedStatement} owns the native statement (closing it finalizes it); this one is never
 * used through JDBC, so the two paths cannot disturb each other's state.
 *
 * <p>Used by one thread at a time, under its {@link SqliteConnection}'s lock. A failed step
 * throws the driver's {@link org.sqlite.SQLiteException} (its result code intact), after which
 * the caller discards the statement, as with JDBC.
 */
final class JdbcStatement extends SqliteStatement {
  private final PreparedStatement owner;
  private final CoreStatement core;
  private final DB db;

  JdbcStatement(PreparedStatement owner) throws SQLException {
    this.owner = owner;
    this.core = owner.unwrap(CoreStatement.class);
    this.db = core.getDatabase();
  }

  /**
   * Runs a statement that returns no rows and takes no parameters (BEGIN, COMMIT, ROLLBACK): one
   * step and a reset, without the driver's "autocommit" begin/commit pair after it.
   */
  @Override
  public void run() throws SQLException {
    int rc = core.pointer.safeRunInt((database, pointer) -> database.step(pointer));
    // No reset after SQLITE_DONE: a statement that ran to completion holds no lock, and SQLite
    // resets it by itself at its next step (it has no parameters to rebind), so a reset here would
    // be one more native call per BEGIN and per COMMIT for nothing.
    if (rc != Codes.SQLITE_DONE) {
      core.pointer.safeRunInt((database, pointer) -> database.reset(pointer));
      db.throwex(rc);
    }
  }

  /**
   * Binds {@code args} (String, Long, Integer, byte[] or null) and runs an update; the rows it
   * changed. The driver's own {@code executeUpdate} resets the statement a second time after the
   * step that already reset it; this asks SQLite only for the change count.
   */
  @Override
  public int update(Object... args) throws SQLException {
    execute(args);
    return (int) db.changes();
  }

  /**
   * Binds {@code args} and runs a statement that returns no rows, without asking how many rows it
   * changed: one bind per argument, one step (which resets the statement when it is done), and no
   * other native call.
   */
  @Override
  public void execute(Object... args) throws SQLException {
    if (db.execute(core, args)) {
      core.pointer.safeRunInt((database, pointer) -> database.reset(pointer));
      throw new SQLException("a statement that should return no rows returned one");
    }
  }

  @Override
  public <T> T queryRow(Row<T> row, Object... args) throws SQLException {
    if (!db.execute(core, args)) {
      return null; // the driver reset it already
    }
    try {
      return row.read(this);
    } finally {
      core.pointer.safeRunInt((database, pointer) -> database.reset(pointer));
    }
  }

  @Override
  public void forEachRow(RowVisitor visitor, Object... args) throws SQLException {
    if (!db.execute(core, args)) {
      return; // no row; the driver reset it already
    }
    try {
      while (visitor.visit(this)) {
        int rc = core.pointer.safeRunInt((database, pointer) -> database.step(pointer));
        if (rc == Codes.SQLITE_DONE) {
          return;
        }
        if (rc != Codes.SQLITE_ROW) {
          db.throwex(rc);
        }
      }
    } finally {
      core.pointer.safeRunInt((database, pointer) -> database.reset(pointer));
    }
  }

  /** Null for SQL NULL and for a zero-length BLOB: the driver reads both as null. */
  @Override
  public byte[] bytes(int index) throws SQLException {
    return core.pointer.safeRun((database, pointer) -> database.column_blob(pointer, index));
  }

  @Override
  public long longValue(int index) throws SQLException {
    return core.pointer.safeRunLong((database, pointer) -> database.column_long(pointer, index));
  }

  @Override
  public String text(int index) throws SQLException {
    return core.pointer.safeRun((database, pointer) -> database.column_text(pointer, index));
  }

  @Override
  public boolean isNull(int index) throws SQLException {
    return core.pointer.safeRunInt((database, pointer) -> database.column_type(pointer, index))
        == Codes.SQLITE_NULL;
  }

  @Override
  void close() throws SQLException {
    owner.close();
  }
}
