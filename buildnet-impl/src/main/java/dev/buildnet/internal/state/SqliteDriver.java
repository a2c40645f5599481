package dev.buildnet.internal.state;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;

/** Which SQLite binding the state backend runs on: today sqlite-jdbc, with the SQLite it bundles. */
public abstract class SqliteDriver {
  /**
   * Every connection keeps temporary tables and statement journals in memory. setAll's many-row
   * statements keep a statement journal (the pages a statement changed, so that it alone can be
   * undone inside the transaction); past 64 KiB SQLite spills it to a file in /var/tmp, one write
   * per page. In memory it costs a copy, and it never needs to survive a crash: the transaction's
   * own WAL frames are what commits. The database's durability is unchanged.
   */
  static final String TEMP_STORE = "MEMORY";

  private static final SqliteDriver JDBC = new SqliteDriver() {
    @Override
    SqliteDatabase open(Path file, boolean fullSync, Duration busyTimeout) throws SQLException {
      return JdbcDatabase.open(file, fullSync, busyTimeout);
    }

    @Override
    public String name() {
      return "sqlite-jdbc";
    }
  };

  SqliteDriver() {}

  /** The driver of this process. */
  public static SqliteDriver current() {
    return JDBC;
  }

  /** sqlite-jdbc's bundled SQLite through its JNI binding. */
  static SqliteDriver jdbc() {
    return JDBC;
  }

  /** Opens a connection with the backend's settings (see {@link SqliteFile}). */
  abstract SqliteDatabase open(Path file, boolean fullSync, Duration busyTimeout)
      throws SQLException;

  /** A short name for logs and benchmark output, with the SQLite version where known. */
  public abstract String name();

  @Override
  public String toString() {
    return name();
  }
}
