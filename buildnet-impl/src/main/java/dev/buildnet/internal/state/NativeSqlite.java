package dev.buildnet.internal.state;

import java.nio.ByteBuffer;
import java.sql.SQLException;

/**
 * The JNI functions of BuildNet's own SQLite binding ({@code src/main/native/buildnet_sqlite.c}),
 * with SQLite compiled in. Handles are C pointers; buffers are direct buffers
 * whose addresses {@link #address} gave. {@link NativeLibrary} loads the library; nothing here may
 * be called before it did.
 */
final class NativeSqlite {
  /** {@link #step}: bind the arguments from the argument buffer first. */
  static final int BIND = 1;
  /** {@link #step}: reset after copying a row, as a query for one row does. */
  static final int RESET_ROW = 2;
  /** {@link #step}: a statement without rows; return the rows it changed, -1 for a row. */
  static final int EXPECT_DONE = 4;

  static final int OPEN_READWRITE = 0x2;
  static final int OPEN_CREATE = 0x4;
  static final int OPEN_NOMUTEX = 0x8000;

  private NativeSqlite() {}

  /** The version of the SQLite compiled into the binding, e.g. "3.53.2". */
  static native String version();

  static native long open(byte[] pathWithNul, int flags, int busyMillis) throws SQLException;

  static native void close(long db) throws SQLException;

  static native long prepare(long db, byte[] sql, int persistent) throws SQLException;

  static native void finalizeStatement(long statement);

  static native long address(ByteBuffer direct);

  /** One run: see the C side for the return values. */
  static native int step(long db, long statement, long args, int argCount, long row,
      int rowCapacity, int mode) throws SQLException;

  static native int readRow(long statement, long row, int rowCapacity, boolean reset);

  static native void reset(long statement);
}
