package dev.buildnet.internal.state;

import java.sql.SQLException;

/**
 * A prepared statement on one of the two SQLite drivers ({@link SqliteDriver}): bind, step, read
 * the columns of a row, reset, and nothing else. Every use of the state file goes through these few
 * calls, so that the backend does not know which driver runs them.
 *
 * <p>Used by one thread at a time, under its {@link SqliteConnection}'s lock. A failed step throws
 * an {@link SQLException} whose primary SQLite result code {@link SqliteErrors#primaryCode} reads,
 * after which the caller discards the connection's statements ({@link
 * SqliteConnection#discardStatements}). Arguments are {@code String}, {@code Long}, {@code
 * Integer}, {@code byte[]} or null.
 */
public abstract class SqliteStatement {
  /** Reads the columns of the current row; see {@link #queryRow}. */
  @FunctionalInterface
  public interface Row<T> {
    T read(SqliteStatement row) throws SQLException;
  }

  /** Reads the columns of each row in turn; see {@link #forEachRow}. */
  @FunctionalInterface
  public interface RowVisitor {
    /** Reads the current row; returns false to stop before the next one. */
    boolean visit(SqliteStatement row) throws SQLException;
  }

  /** Runs a statement that takes no parameters and returns no rows (BEGIN, COMMIT, DDL). */
  public abstract void run() throws SQLException;

  /** Binds {@code args} and runs a statement that returns no rows; the rows it changed. */
  public abstract int update(Object... args) throws SQLException;

  /** Binds {@code args} and runs a statement that returns no rows, without counting changes. */
  public abstract void execute(Object... args) throws SQLException;

  /**
   * Binds {@code args}, steps to the first row and reads it with {@code row} (which calls the
   * column getters below); null if there is no row. Resets the statement before it returns, which
   * also ends the read transaction of an autocommit query.
   */
  public abstract <T> T queryRow(Row<T> row, Object... args) throws SQLException;

  /**
   * Binds the text {@code text} and the integer {@code number} (in that order), steps to the first
   * row and returns its column 0 as bytes: an empty array for SQL NULL or a zero-length BLOB, null
   * if there is no row. Resets the statement before it returns. The same as {@link #queryRow} with
   * those two arguments, for the hot path of a one-key read: no argument array, no boxing, no row
   * lambda.
   */
  public byte[] queryBytes(String text, long number) throws SQLException {
    return queryRow(SqliteStatement::bytesOrEmpty, text, number);
  }

  static byte[] bytesOrEmpty(SqliteStatement row) throws SQLException {
    byte[] value = row.bytes(0);
    // sqlite-jdbc reads a zero-length BLOB as null; a row was found, so its value is empty.
    return value == null ? new byte[0] : value;
  }

  /**
   * Binds {@code args} and hands each row to {@code visitor} until there are no more or it returns
   * false; resets the statement before it returns. The visitor must not run other statements on
   * this connection.
   */
  public abstract void forEachRow(RowVisitor visitor, Object... args) throws SQLException;

  /**
   * Column {@code index} (0-based) of the current row as bytes; null for SQL NULL, and null or
   * empty for a zero-length BLOB (sqlite-jdbc cannot tell the two apart).
   */
  public abstract byte[] bytes(int index) throws SQLException;

  /** Column {@code index} of the current row as a long; 0 for SQL NULL. */
  public abstract long longValue(int index) throws SQLException;

  /** Column {@code index} of the current row as text; null for SQL NULL. */
  public abstract String text(int index) throws SQLException;

  /** Whether column {@code index} of the current row is SQL NULL. */
  public abstract boolean isNull(int index) throws SQLException;

  /** Finalizes the native statement. */
  abstract void close() throws SQLException;
}
