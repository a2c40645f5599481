package dev.buildnet.internal.state;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A plain connection to a state file, for tests that look into the file or hold its locks while a
 * backend has it open. It goes through the process's own {@link SqliteDriver}, as the backend
 * does: a connection of another SQLite copy in the same process (sqlite-jdbc's beside the native
 * binding) would not see the backend's locks, and closing it would drop them (see SqliteDriver).
 */
public final class RawSqlite implements AutoCloseable {
  private final SqliteConnection connection;

  private RawSqlite(SqliteConnection connection) {
    this.connection = connection;
  }

  public static RawSqlite open(Path file) throws SQLException {
    return new RawSqlite(new SqliteConnection(
        SqliteDriver.current().open(file, false, Duration.ofSeconds(5))));
  }

  /** The first column of the first row of {@code sql}, as a number, read over a new connection. */
  public static long count(Path file, String sql) throws SQLException {
    try (RawSqlite raw = open(file)) {
      return raw.number(sql);
    }
  }

  /** Runs {@code sql} over a new connection. */
  public static void execute(Path file, String sql) throws SQLException {
    try (RawSqlite raw = open(file)) {
      raw.execute(sql);
    }
  }

  public void execute(String sql) throws SQLException {
    connection.execute(sql);
  }

  /** The first column of the first row of {@code sql} as a number. */
  public long number(String sql) throws SQLException {
    return number(sql, 0);
  }

  /** Column {@code column} (0-based) of the first row of {@code sql} as a number. */
  public long number(String sql, int column) throws SQLException {
    Long value = connection.statement(sql).queryRow(row -> row.longValue(column));
    if (value == null) {
      throw new AssertionError("no row from " + sql);
    }
    return value;
  }

  /** The first column of the first row of {@code sql} as text. */
  public String text(String sql) throws SQLException {
    return connection.statement(sql).queryRow(row -> row.text(0));
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }
}
