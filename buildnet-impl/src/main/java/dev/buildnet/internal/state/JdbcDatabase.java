package dev.buildnet.internal.state;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteConnection;
import org.sqlite.SQLiteOpenMode;

/** A connection of the sqlite-jdbc driver, used only through its core API ({@link JdbcStatement}). */
final class JdbcDatabase implements SqliteDatabase {
  private final Connection connection;

  private JdbcDatabase(Connection connection) throws SQLException {
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

  static JdbcDatabase open(Path file, boolean fullSync, Duration busyTimeout)
      throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setBusyTimeout((int) busyTimeout.toMillis());
    // Each connection is used by one thread at a time (SqliteConnection's lock), so SQLite's own
    // per-call mutex is pure overhead.
    config.setOpenMode(SQLiteOpenMode.NOMUTEX);
    // Off: with it on (the driver's default) every INSERT is followed by a regex match on its SQL,
    // a freshly prepared "SELECT last_insert_rowid()" and a step of it, which nearly doubled the
    // cost of a set. No table here has a rowid anyone asks for.
    config.setGetGeneratedKeys(false);
    config.setSynchronous(
        fullSync ? SQLiteConfig.SynchronousMode.FULL : SQLiteConfig.SynchronousMode.NORMAL);
    // See SqliteDriver#TEMP_STORE.
    config.setTempStore(SQLiteConfig.TempStore.MEMORY);
    return new JdbcDatabase(config.createConnection("jdbc:sqlite:" + file));
  }

  @Override
  public SqliteStatement prepare(String sql) throws SQLException {
    return new JdbcStatement(connection.prepareStatement(sql));
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }
}
