package dev.buildnet.internal.state;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A connection of BuildNet's own SQLite binding, with the two direct buffers its statements share:
 * one for the arguments of a run, one for the row it returns. Used by one thread at a time (its
 * {@link SqliteConnection}'s lock), which is what makes sharing the buffers safe.
 */
final class NativeDatabase implements SqliteDatabase {
  private static final int INITIAL_BUFFER = 16 * 1024;
  /** Buffers up to this size are kept between runs; larger ones only for the run that needed them. */
  static final int KEPT_BUFFER = 1024 * 1024;

  private final long db;
  private ByteBuffer args = allocate(INITIAL_BUFFER);
  private long argsAddress = NativeSqlite.address(args);
  private ByteBuffer row = allocate(INITIAL_BUFFER);
  private long rowAddress = NativeSqlite.address(row);
  private boolean closed;

  private NativeDatabase(long db) {
    this.db = db;
  }

  /** Opens {@code file} with the same flags and pragmas as {@link JdbcDatabase#open}. */
  static NativeDatabase open(Path file, boolean fullSync, Duration busyTimeout)
      throws SQLException {
    byte[] path = (file.toString() + '\0').getBytes(StandardCharsets.UTF_8);
    // NOMUTEX: each connection is used by one thread at a time (SqliteConnection's lock).
    long handle = NativeSqlite.open(path,
        NativeSqlite.OPEN_READWRITE | NativeSqlite.OPEN_CREATE | NativeSqlite.OPEN_NOMUTEX,
        (int) busyTimeout.toMillis());
    NativeDatabase database = new NativeDatabase(handle);
    try {
      database.pragma("PRAGMA synchronous = " + (fullSync ? "FULL" : "NORMAL"));
      database.pragma("PRAGMA temp_store = " + SqliteDriver.TEMP_STORE);
    } catch (SQLException | RuntimeException e) {
      database.close();
      throw e;
    }
    return database;
  }

  private void pragma(String sql) throws SQLException {
    NativeStatement statement = prepare(sql, false);
    try {
      statement.forEachRow(row -> false);
    } finally {
      statement.close();
    }
  }

  @Override
  public SqliteStatement prepare(String sql) throws SQLException {
    return prepare(sql, true);
  }

  /** {@code cached}: SQLite's hint that the statement is kept and run many times. */
  private NativeStatement prepare(String sql, boolean cached) throws SQLException {
    long statement =
        NativeSqlite.prepare(db, sql.getBytes(StandardCharsets.UTF_8), cached ? 1 : 0);
    return new NativeStatement(this, statement);
  }

  long handle() {
    return db;
  }

  /**
   * The argument buffer, cleared, with room for at least {@code bytes}. One that grew past {@link
   * #KEPT_BUFFER} for a large value is let go at the next run that fits the initial size, so a
   * connection does not hold the largest value it ever saw in direct memory for its lifetime.
   * Safe because every run with parameters binds all of them again (the C side checks the count).
   */
  ByteBuffer args(int bytes) {
    if (args.capacity() < bytes || (args.capacity() > KEPT_BUFFER && bytes <= INITIAL_BUFFER)) {
      args = allocate(args.capacity() < bytes ? grow(args.capacity(), bytes) : INITIAL_BUFFER);
      argsAddress = NativeSqlite.address(args);
    }
    return args.clear();
  }

  long argsAddress() {
    return argsAddress;
  }

  /** The row buffer, grown to at least {@code bytes} if it is smaller. */
  ByteBuffer row(int bytes) {
    if (row.capacity() < bytes) {
      row = allocate(grow(row.capacity(), bytes));
      rowAddress = NativeSqlite.address(row);
    }
    return row;
  }

  /**
   * The row buffer for a new run: one that grew past {@link #KEPT_BUFFER} for a large row is
   * replaced by one of the initial size first (a larger row is then copied with readRow).
   */
  ByteBuffer rowForRun() {
    if (row.capacity() > KEPT_BUFFER) {
      row = allocate(INITIAL_BUFFER);
      rowAddress = NativeSqlite.address(row);
    }
    return row;
  }

  ByteBuffer row() {
    return row;
  }

  long rowAddress() {
    return rowAddress;
  }

  @Override
  public void close() throws SQLException {
    if (!closed) {
      closed = true;
      NativeSqlite.close(db);
    }
  }

  private static int grow(int capacity, int needed) {
    long doubled = Math.max((long) capacity * 2, needed);
    return (int) Math.min(doubled, Integer.MAX_VALUE - 8);
  }

  private static ByteBuffer allocate(int bytes) {
    return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
  }
}
