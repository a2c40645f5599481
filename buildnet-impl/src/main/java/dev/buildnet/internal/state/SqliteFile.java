package dev.buildnet.internal.state;

import dev.buildnet.state.SqliteStateBackend;

import dev.buildnet.api.state.StateException;
import dev.buildnet.internal.DiskSpace;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;

/**
 * Opens a state file: checks the path, refuses files that are not (or not yet) BuildNet state
 * databases without writing to them, switches to WAL mode, creates or verifies the schema, and
 * opens the connections a {@link SqliteStateBackend} uses.
 */
public final class SqliteFile {
  private static final byte[] SQLITE_HEADER =
      "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);

  private SqliteFile() {}

  /** The connections of an open backend; see {@link SqliteStateBackend} for their roles. */
  public record Connections(
      SqliteConnection writer, SqliteConnection reader, SqliteConnection checkpointer) {}

  public static Connections open(Path file, boolean fullSync, Duration busyTimeout) {
    checkPath(file);
    SqliteConnection writer = null;
    SqliteConnection reader = null;
    SqliteConnection checkpointer = null;
    try {
      writer = connect(file, fullSync, busyTimeout);
      // Read first: SQLite parses the file, and foreign or newer databases are refused, before
      // switching to WAL mode writes to the file's header.
      SqliteSchema.checkContents(writer, file);
      enableWal(writer, file);
      SqliteSchema.createOrVerify(writer, file);
      // Only a backstop: SqliteMaintenance checkpoints long before the log gets this big.
      writer.execute("PRAGMA wal_autocheckpoint = " + SqliteMaintenance.BACKSTOP_CHECKPOINT_PAGES);
      reader = connect(file, fullSync, busyTimeout);
      checkpointer = connect(file, fullSync, busyTimeout);
      return new Connections(writer, reader, checkpointer);
    } catch (SQLException e) {
      closeQuietly(checkpointer, reader, writer);
      throw openFailure(file, e);
    } catch (RuntimeException e) {
      closeQuietly(checkpointer, reader, writer);
      throw e;
    }
  }

  /**
   * Refuses, before SQLite touches anything, a path that cannot be a writable state database: a
   * missing or read-only directory, a directory in place of the file, a read-only file, or a file
   * that does not start with SQLite's header (so a wrong path never gets overwritten).
   */
  static void checkPath(Path file) {
    Path directory = file.getParent();
    if (directory == null || !Files.isDirectory(directory)) {
      throw new StateException("cannot open state database " + file + ": directory " + directory
          + (directory != null && Files.exists(directory) ? " is not a directory"
              : " does not exist (BuildNet does not create it; create it first)"));
    }
    if (Files.isDirectory(file)) {
      throw new StateException("cannot open state database " + file + ": it is a directory");
    }
    if (Files.exists(file)) {
      if (!Files.isReadable(file) || !Files.isWritable(file)) {
        throw new StateException("cannot open state database " + file
            + ": the file is read-only (or unreadable); BuildNet needs to read and write it");
      }
      checkHeader(file);
    }
    if (!Files.isWritable(directory)) {
      throw new StateException("cannot open state database " + file + ": directory " + directory
          + " is read-only; SQLite needs to create " + file.getFileName() + "-wal and "
          + file.getFileName() + "-shm there");
    }
  }

  private static void checkHeader(Path file) {
    byte[] header = new byte[SQLITE_HEADER.length];
    int read;
    try (InputStream in = Files.newInputStream(file)) {
      read = in.readNBytes(header, 0, header.length);
    } catch (IOException e) {
      throw new StateException("cannot read state database " + file + ": " + e, e);
    }
    // An empty file is a database with no pages yet; SQLite treats it as new, and so do we.
    if (read != 0 && (read < header.length || !Arrays.equals(header, SQLITE_HEADER))) {
      throw SqliteSchema.notValid(file, "it is not an SQLite database");
    }
  }

  private static SqliteConnection connect(Path file, boolean fullSync, Duration busyTimeout)
      throws SQLException {
    return new SqliteConnection(SqliteDriver.current().open(file, fullSync, busyTimeout));
  }

  private static void enableWal(SqliteConnection connection, Path file) throws SQLException {
    String actual = connection.statement("PRAGMA journal_mode = WAL").queryRow(row -> row.text(0));
    if (!"wal".equalsIgnoreCase(actual)) {
      throw new StateException("cannot open state database " + file
          + ": SQLite could not switch it to WAL mode (it stayed in "
          + (actual == null ? "unknown" : actual) + " mode)");
    }
  }

  private static StateException openFailure(Path file, SQLException e) {
    return switch (SqliteErrors.primaryCode(e)) {
      case 11, 26 -> new StateException(SqliteSchema.notValid(file,
          "SQLite says it is corrupt or not a database (" + e.getMessage() + ")").getMessage(), e);
      case 8 -> new StateException("cannot open state database " + file
          + ": the file or its directory is read-only (" + e.getMessage() + ")", e);
      case 10 -> new StateException("cannot open state database " + file + ": "
          + DiskSpace.ioError(file.getParent()) + " (" + e.getMessage() + ")", e);
      case 13 -> new StateException("cannot open state database " + file + ": "
          + DiskSpace.full(file.getParent()) + " (" + e.getMessage() + ")", e);
      case 5, 6 -> new StateException("cannot open state database " + file
          + ": another process kept it locked for longer than the busy timeout ("
          + e.getMessage() + ")", e);
      default -> new StateException(
          "cannot open state database " + file + ": " + e.getMessage(), e);
    };
  }

  private static void closeQuietly(SqliteConnection... connections) {
    for (SqliteConnection connection : connections) {
      if (connection == null) {
        continue;
      }
      try {
        connection.close();
      } catch (SQLException ignored) {
        // Already failing; the original error is the one to report.
      }
    }
  }
}
