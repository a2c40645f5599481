package dev.buildnet.internal.state;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;

/**
 * A prepared statement of BuildNet's own SQLite binding: every run is one native call
 * ({@link NativeSqlite#step}) that binds all arguments from the connection's argument buffer,
 * steps, copies the row into the row buffer and resets. The column getters then read the row
 * buffer in Java, without crossing into C again.
 *
 * <p>Unlike sqlite-jdbc's statements, a failed step leaves this one usable (reset, not
 * finalized); {@link SqliteConnection#discardStatements} finalizes it anyway.
 */
final class NativeStatement extends SqliteStatement {
  private static final byte INTEGER = 1;
  private static final byte TEXT = 3;
  private static final byte BLOB = 4;
  private static final byte NULL = 5;

  private final NativeDatabase database;
  private long statement;
  /** Where each column of the current row starts in the row buffer (its tag byte). */
  private int[] columns = new int[4];
  private int columnCount;
  /** The UTF-8 bytes of the current run's text arguments, by position; reused between runs. */
  private byte[][] encoded = new byte[4][];

  NativeStatement(NativeDatabase database, long statement) {
    this.database = database;
    this.statement = statement;
  }

  @Override
  public void run() throws SQLException {
    if (step(0, NativeSqlite.EXPECT_DONE) < 0) {
      throw new SQLException("a statement that should return no rows returned one");
    }
  }

  @Override
  public int update(Object... args) throws SQLException {
    int changes = step(bind(args), NativeSqlite.BIND | NativeSqlite.EXPECT_DONE);
    if (changes < 0) {
      throw new SQLException("a statement that should return no rows returned one");
    }
    return changes;
  }

  @Override
  public void execute(Object... args) throws SQLException {
    update(args);
  }

  @Override
  public <T> T queryRow(Row<T> row, Object... args) throws SQLException {
    int size = step(bind(args), NativeSqlite.BIND | NativeSqlite.RESET_ROW);
    if (size == 0) {
      return null;
    }
    if (size < 0) {
      size = readRow(-size, true);
    }
    index(size);
    return row.read(this);
  }

  /**
   * {@link #queryRow} for one text and one integer argument, written straight into the argument
   * buffer: an ASCII text is copied char by char (no UTF-8 array, no bulk copy), anything else
   * goes through {@link #bind}.
   */
  @Override
  public byte[] queryBytes(String text, long number) throws SQLException {
    int length = text.length();
    ByteBuffer buffer = database.args(5 + length + 9);
    buffer.put(TEXT).putInt(length);
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      if (c >= 0x80) {
        return super.queryBytes(text, number); // bind() encodes it and starts the buffer over
      }
      buffer.put((byte) c);
    }
    buffer.put(INTEGER).putLong(number);
    int size = step(2, NativeSqlite.BIND | NativeSqlite.RESET_ROW);
    if (size == 0) {
      return null;
    }
    if (size < 0) {
      readRow(-size, true);
    }
    // Column 0 read in place, without indexing the row: no getter runs on it after this.
    columnCount = 0;
    ByteBuffer row = database.row();
    if (row.get(4) == NULL) {
      return new byte[0];
    }
    int bytes = row.getInt(5); // the column is text or a BLOB, as bytes(0) assumes
    byte[] value = new byte[bytes];
    row.get(9, value);
    return value;
  }

  @Override
  public void forEachRow(RowVisitor visitor, Object... args) throws SQLException {
    int size = step(bind(args), NativeSqlite.BIND);
    boolean positioned = size != 0; // on a row, so a reset is owed if we stop early
    try {
      while (size != 0) {
        if (size < 0) {
          size = readRow(-size, false);
        }
        index(size);
        if (!visitor.visit(this)) {
          return;
        }
        size = step(0, 0); // resets by itself when there are no more rows, or when it fails
        positioned = size != 0;
      }
    } finally {
      if (positioned) {
        NativeSqlite.reset(statement);
      }
    }
  }

  @Override
  public byte[] bytes(int index) {
    int at = column(index);
    ByteBuffer row = database.row();
    if (row.get(at) == NULL) {
      return null;
    }
    byte[] bytes = new byte[row.getInt(at + 1)];
    row.get(at + 5, bytes);
    return bytes;
  }

  @Override
  public long longValue(int index) {
    int at = column(index);
    ByteBuffer row = database.row();
    return switch (row.get(at)) {
      case INTEGER -> row.getLong(at + 1);
      case NULL -> 0;
      case 2 -> (long) row.getDouble(at + 1);
      // Text or a BLOB where a number was expected: what sqlite3_column_int64 makes of it.
      default -> parseLong(text(index));
    };
  }

  @Override
  public String text(int index) {
    int at = column(index);
    ByteBuffer row = database.row();
    return switch (row.get(at)) {
      case TEXT, BLOB -> new String(bytes(index), StandardCharsets.UTF_8);
      case INTEGER -> Long.toString(row.getLong(at + 1));
      case NULL -> null;
      default -> Double.toString(row.getDouble(at + 1));
    };
  }

  @Override
  public boolean isNull(int index) {
    return database.row().get(column(index)) == NULL;
  }

  @Override
  void close() {
    if (statement != 0) {
      NativeSqlite.finalizeStatement(statement);
      statement = 0;
    }
  }

  private int step(int argCount, int mode) throws SQLException {
    if (statement == 0) {
      throw new SQLException("statement is closed");
    }
    ByteBuffer row = database.rowForRun(); // the last row was read: a large buffer can go
    return NativeSqlite.step(database.handle(), statement, database.argsAddress(), argCount,
        database.rowAddress(), row.capacity(), mode);
  }

  /** Copies a row that did not fit into a row buffer of {@code size} bytes; returns its size. */
  private int readRow(int size, boolean reset) {
    database.row(size);
    return NativeSqlite.readRow(statement, database.rowAddress(), size, reset);
  }

  /** Writes {@code args} into the argument buffer; returns how many. */
  private int bind(Object[] args) throws SQLException {
    int bytes = 0;
    if (encoded.length < args.length) {
      encoded = new byte[args.length][];
    }
    for (int i = 0; i < args.length; i++) {
      Object arg = args[i];
      if (arg instanceof String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        encoded[i] = utf8;
        bytes += 5 + utf8.length;
      } else if (arg instanceof byte[] blob) {
        bytes += 5 + blob.length;
      } else {
        bytes += 9;
      }
    }
    ByteBuffer buffer = database.args(bytes);
    for (int i = 0; i < args.length; i++) {
      Object arg = args[i];
      if (arg == null) {
        buffer.put(NULL);
      } else if (arg instanceof Long || arg instanceof Integer) {
        buffer.put(INTEGER).putLong(((Number) arg).longValue());
      } else if (arg instanceof String) {
        byte[] utf8 = encoded[i];
        encoded[i] = null; // not kept alive past the run
        buffer.put(TEXT).putInt(utf8.length).put(utf8);
      } else if (arg instanceof byte[] blob) {
        buffer.put(BLOB).putInt(blob.length).put(blob);
      } else {
        throw new SQLException("cannot bind a " + arg.getClass().getName());
      }
    }
    return args.length;
  }

  /** Notes where each column of the {@code size}-byte row starts. */
  private void index(int size) {
    ByteBuffer row = database.row();
    int count = row.getInt(0);
    if (columns.length < count) {
      columns = new int[count];
    }
    int at = 4;
    for (int i = 0; i < count; i++) {
      columns[i] = at;
      byte tag = row.get(at);
      at += tag == NULL ? 1 : tag == TEXT || tag == BLOB ? 5 + row.getInt(at + 1) : 9;
    }
    columnCount = count;
    assert at == size : "row of " + size + " bytes parsed as " + at;
  }

  private int column(int index) {
    if (index < 0 || index >= columnCount) {
      throw new IndexOutOfBoundsException("column " + index + " of " + columnCount);
    }
    return columns[index];
  }

  private static long parseLong(String text) {
    try {
      return Long.parseLong(text.trim());
    } catch (NumberFormatException notANumber) {
      return 0;
    }
  }
}
