package dev.buildnet.internal.state;

import dev.buildnet.api.state.StateException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Creates or verifies the schema of a BuildNet state database.
 *
 * <p>Version history (when the layout changes, bump {@link #CURRENT_VERSION} and add a migration
 * step in {@link #createOrVerify}; never edit an existing step):
 * <ol>
 *   <li>kv, locks, fencing.
 * </ol>
 */
public final class SqliteSchema {
  public static final int CURRENT_VERSION = 1;

  private static final Set<String> TABLES = Set.of("schema_version", "kv", "locks", "fencing");
  private static final List<String> VERSION_1 = List.of(
      "CREATE TABLE schema_version (version INTEGER NOT NULL)",
      // Expiry is epoch milliseconds on the backend's clock, NULL for none. WITHOUT ROWID: one
      // b-tree instead of table plus key index, so a commit writes one page instead of several
      // (a third of the cost of a small write).
      "CREATE TABLE kv (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER)"
          + " WITHOUT ROWID",
      "CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL",
      "CREATE TABLE locks (resource TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL,"
          + " token INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
      // Outlives lock rows: the last token ever granted per resource, so tokens never repeat.
      "CREATE TABLE fencing (resource TEXT NOT NULL PRIMARY KEY, last_token INTEGER NOT NULL)"
          + " WITHOUT ROWID",
      "INSERT INTO schema_version (version) VALUES (1)");

  private SqliteSchema() {}

  static StateException notValid(Path file, String why) {
    return new StateException(
        file + " is not a valid BuildNet state database: " + why + "; it was left untouched");
  }

  /**
   * Reads (and never writes) the schema: refuses a database with foreign tables, a broken
   * {@code schema_version}, or a version newer than this code knows. Returns whether the database
   * is empty, i.e. still needs the schema. Runs before anything writes to the file, and again
   * inside the creating transaction.
   */
  static boolean checkContents(SqliteConnection connection, Path file) throws SQLException {
    Set<String> tables = tables(connection);
    if (tables.isEmpty()) {
      return true;
    }
    if (!tables.contains("schema_version")) {
      throw notValid(file, "it is an SQLite database with other tables " + tables);
    }
    int version = version(connection, file);
    if (version > CURRENT_VERSION) {
      throw new StateException(file + " has BuildNet state schema version " + version
          + " but this BuildNet knows only versions up to " + CURRENT_VERSION
          + "; open it with a newer BuildNet or use another file");
    }
    // A version below CURRENT_VERSION would be migrated in createOrVerify; none exists yet.
    if (!tables.containsAll(TABLES)) {
      TreeSet<String> missing = new TreeSet<>(TABLES);
      missing.removeAll(tables);
      throw notValid(file, "tables " + missing + " are missing");
    }
    return false;
  }

  /**
   * Creates the schema in an empty database, or checks an existing one. Runs in one immediate
   * transaction so that processes opening a new file together create it once.
   */
  static void createOrVerify(SqliteConnection connection, Path file) throws SQLException {
    connection.beginImmediate();
    try {
      if (checkContents(connection, file)) {
        for (String sql : VERSION_1) {
          connection.execute(sql);
        }
      }
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      connection.rollbackQuietly();
      throw e;
    }
  }

  private static Set<String> tables(SqliteConnection connection) throws SQLException {
    Set<String> tables = new TreeSet<>();
    connection.statement(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .forEachRow(row -> {
          tables.add(row.text(0));
          return true;
        });
    return tables;
  }

  private static int version(SqliteConnection connection, Path file) throws SQLException {
    List<Long> versions = new ArrayList<>();
    // Two rows are enough to tell that there are too many.
    connection.statement("SELECT version FROM schema_version")
        .forEachRow(row -> {
          versions.add(row.longValue(0));
          return versions.size() < 2;
        });
    if (versions.isEmpty()) {
      throw notValid(file, "its schema_version table is empty");
    }
    if (versions.size() > 1) {
      throw notValid(file, "its schema_version table has more than one row");
    }
    int version = (int) (long) versions.get(0);
    if (version < 1) {
      throw notValid(file, "it records schema version " + version);
    }
    return version;
  }
}
