package dev.buildnet.internal.state;

import java.sql.SQLException;
import org.sqlite.SQLiteException;

/** Reads SQLite's result code from a failure of either driver. */
public final class SqliteErrors {
  private SqliteErrors() {}

  /**
   * The primary SQLite result code (SQLITE_FULL is 13, SQLITE_BUSY 5, ...) of {@code e}; 0 when it
   * did not come from SQLite (a driver's own complaint, such as a statement used after close).
   * sqlite-jdbc keeps it in its exception type; the native driver in the vendor code.
   */
  public static int primaryCode(SQLException e) {
    if (e instanceof SQLiteException sqlite) {
      return sqlite.getResultCode().code & 0xff;
    }
    return e.getErrorCode() & 0xff;
  }
}
