package dev.buildnet.internal.state;

import java.sql.SQLException;

/** One open database connection of a {@link SqliteDriver}: prepares statements, and closes. */
interface SqliteDatabase {
  /** Prepares {@code sql}; the caller closes the statement before it closes this. */
  SqliteStatement prepare(String sql) throws SQLException;

  /** Closes the connection; every statement must have been closed. */
  void close() throws SQLException;
}
