import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Issue 13 §5, option (b): what SqliteStateBackend's get, set and 1,000-row setAll would cost if
 * they called the C API of a system libsqlite3 through JNA direct mapping instead of sqlite-jdbc.
 * Same schema, pragmas, SQL and data as StateCpuHarness; CPU of the calling thread per operation
 * (no maintenance thread here). Two bindings: "arrays" passes byte[] to sqlite3_bind_* (JNA copies
 * each array in and out), "raw" copies a call's keys and values into one native buffer and binds
 * pointers with SQLITE_STATIC, so every call but one per operation has primitive arguments only.
 * A measurement, not product code: a second copy of SQLite in a process that also uses
 * sqlite-jdbc on the same file would break SQLite's POSIX locks; sqlite-jdbc's own library cannot
 * be used instead, it exports no sqlite3_* symbol (nm -D: JNI_OnLoad, JNI_OnUnload and the 61
 * Java_org_sqlite_core_NativeDB_* functions only). Usage: run.sh.
 */
public final class JnaProbe {
  private static final class Sqlite {
    static {
      Native.register(NativeLibrary.getInstance(System.getProperty("lib", "sqlite3")));
    }

    static native int sqlite3_open_v2(byte[] file, PointerByReference db, int flags, Pointer vfs);
    static native int sqlite3_exec(long db, byte[] sql, Pointer callback, Pointer arg, Pointer err);
    static native int sqlite3_prepare_v2(long db, byte[] sql, int n, LongByReference stmt, Pointer tail);
    static native int sqlite3_bind_text(long stmt, int i, byte[] v, int n, long destructor);
    static native int sqlite3_bind_blob(long stmt, int i, byte[] v, int n, long destructor);
    static native int sqlite3_bind_text(long stmt, int i, long v, int n, long destructor);
    static native int sqlite3_bind_blob(long stmt, int i, long v, int n, long destructor);
    static native int sqlite3_bind_int64(long stmt, int i, long v);
    static native int sqlite3_step(long stmt);
    static native int sqlite3_reset(long stmt);
    static native long sqlite3_column_blob(long stmt, int i);
    static native int sqlite3_column_bytes(long stmt, int i);
    static native Pointer sqlite3_libversion();
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final long TRANSIENT = -1;
  private static final long STATIC = 0;
  private static final int ROW = 100;
  private static final String UPSERT = " ON CONFLICT (key) DO UPDATE"
      + " SET value = excluded.value, expires_at = excluded.expires_at";

  private static long db;

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("jna-probe");
    PointerByReference handle = new PointerByReference();
    // READWRITE | CREATE | NOMUTEX, as SqliteFile opens its connections.
    check(Sqlite.sqlite3_open_v2(utf8z(dir.resolve("state.db").toString()), handle,
        0x02 | 0x04 | 0x8000, null));
    db = Pointer.nativeValue(handle.getValue());
    for (String sql : new String[] {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
        "PRAGMA temp_store = MEMORY",
        "CREATE TABLE kv (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER)"
            + " WITHOUT ROWID",
        "CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL"}) {
      check(Sqlite.sqlite3_exec(db, utf8z(sql), null, null, null));
    }
    long get = prepare("SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)");
    long put = prepare("INSERT INTO kv (key, value, expires_at) VALUES (?, ?, NULL)" + UPSERT);
    long[] putRows = new long[8]; // putRows[i] stores 2^i rows, as SqliteStateBackend.PUT_ROWS
    for (int i = 0; i < putRows.length; i++) {
      putRows[i] = prepare("INSERT INTO kv (key, value, expires_at) VALUES "
          + String.join(", ", Collections.nCopies(1 << i, "(?, ?, NULL)")) + UPSERT);
    }
    long begin = prepare("BEGIN IMMEDIATE");
    long commit = prepare("COMMIT");
    String[] keys = new String[10_000];
    byte[] value = new byte[64];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = String.format("action/%08x", i * 2654435761L & 0xffffffffL);
    }
    String[] batch = new String[1_000];
    for (int i = 0; i < batch.length; i++) {
      batch[i] = "batch/" + i;
    }
    Memory buffer = new Memory(1 << 20);
    long base = Pointer.nativeValue(buffer);
    byte[] scratch = new byte[1 << 20];
    int[] next = {0};
    Map<String, Runnable> ops = new LinkedHashMap<>();
    ops.put("get-arrays", () -> {
      byte[] key = keys[next[0] = (next[0] + 1) % keys.length].getBytes(StandardCharsets.UTF_8);
      Sqlite.sqlite3_bind_text(get, 1, key, key.length, TRANSIENT);
      Sqlite.sqlite3_bind_int64(get, 2, System.currentTimeMillis());
      if (Sqlite.sqlite3_step(get) == ROW) {
        new Pointer(Sqlite.sqlite3_column_blob(get, 0))
            .getByteArray(0, Sqlite.sqlite3_column_bytes(get, 0));
      }
      Sqlite.sqlite3_reset(get);
    });
    ops.put("get-raw", () -> {
      byte[] key = keys[next[0] = (next[0] + 1) % keys.length].getBytes(StandardCharsets.UTF_8);
      buffer.write(0, key, 0, key.length);
      Sqlite.sqlite3_bind_text(get, 1, base, key.length, STATIC);
      Sqlite.sqlite3_bind_int64(get, 2, System.currentTimeMillis());
      if (Sqlite.sqlite3_step(get) == ROW) {
        byte[] out = new byte[Sqlite.sqlite3_column_bytes(get, 0)];
        new Pointer(Sqlite.sqlite3_column_blob(get, 0)).read(0, out, 0, out.length);
      }
      Sqlite.sqlite3_reset(get);
    });
    ops.put("set-arrays", () -> {
      byte[] key = keys[next[0] = (next[0] + 1) % keys.length].getBytes(StandardCharsets.UTF_8);
      Sqlite.sqlite3_bind_text(put, 1, key, key.length, TRANSIENT);
      Sqlite.sqlite3_bind_blob(put, 2, value, value.length, TRANSIENT);
      check(Sqlite.sqlite3_step(put));
      Sqlite.sqlite3_reset(put);
    });
    ops.put("set-raw", () -> {
      byte[] key = keys[next[0] = (next[0] + 1) % keys.length].getBytes(StandardCharsets.UTF_8);
      System.arraycopy(key, 0, scratch, 0, key.length);
      System.arraycopy(value, 0, scratch, key.length, value.length);
      buffer.write(0, scratch, 0, key.length + value.length);
      Sqlite.sqlite3_bind_text(put, 1, base, key.length, STATIC);
      Sqlite.sqlite3_bind_blob(put, 2, base + key.length, value.length, STATIC);
      check(Sqlite.sqlite3_step(put));
      Sqlite.sqlite3_reset(put);
    });
    for (boolean raw : new boolean[] {false, true}) {
      ops.put(raw ? "setAll1000-raw" : "setAll1000-arrays", () -> {
        run(begin);
        int[] offsets = new int[batch.length + 1];
        int[] keyLengths = new int[batch.length];
        byte[][] encoded = new byte[batch.length][];
        int end = 0;
        for (int i = 0; i < batch.length; i++) {
          encoded[i] = batch[i].getBytes(StandardCharsets.UTF_8);
          keyLengths[i] = encoded[i].length;
          if (raw) {
            offsets[i] = end;
            System.arraycopy(encoded[i], 0, scratch, end, keyLengths[i]);
            System.arraycopy(value, 0, scratch, end + keyLengths[i], value.length);
            end += keyLengths[i] + value.length;
          }
        }
        if (raw) {
          buffer.write(0, scratch, 0, end);
        }
        // As SqliteStateBackend.setAll: 128-row statements, then one statement per bit of the rest.
        int row = 0;
        for (int i = putRows.length - 1; i >= 0; i--) {
          int width = 1 << i;
          while (batch.length - row >= width) {
            for (int j = 0; j < width; j++, row++) {
              if (raw) {
                long at = base + offsets[row];
                Sqlite.sqlite3_bind_text(putRows[i], 2 * j + 1, at, keyLengths[row], STATIC);
                Sqlite.sqlite3_bind_blob(
                    putRows[i], 2 * j + 2, at + keyLengths[row], value.length, STATIC);
              } else {
                Sqlite.sqlite3_bind_text(
                    putRows[i], 2 * j + 1, encoded[row], keyLengths[row], TRANSIENT);
                Sqlite.sqlite3_bind_blob(putRows[i], 2 * j + 2, value, value.length, TRANSIENT);
              }
            }
            check(Sqlite.sqlite3_step(putRows[i]));
            Sqlite.sqlite3_reset(putRows[i]);
          }
        }
        if (row != batch.length) {
          throw new AssertionError(row);
        }
        run(commit);
      });
    }
    run(begin);
    for (String key : keys) {
      byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
      Sqlite.sqlite3_bind_text(put, 1, bytes, bytes.length, TRANSIENT);
      Sqlite.sqlite3_bind_blob(put, 2, value, value.length, TRANSIENT);
      check(Sqlite.sqlite3_step(put));
      Sqlite.sqlite3_reset(put);
    }
    run(commit);
    double seconds = Double.parseDouble(System.getProperty("round", "0.5"));
    int rounds = Integer.getInteger("rounds", 5);
    StringBuilder out = new StringBuilder("{\"runtime\":\"java " + Runtime.version() + " + JNA + libsqlite3 "
        + Sqlite.sqlite3_libversion().getString(0) + "\",\"unit\":\"cpu us/op\",\"cpu\":\"thread\"");
    for (Map.Entry<String, Runnable> op : ops.entrySet()) {
      for (int i = 0; i < 3; i++) {
        round(op.getValue(), seconds);
      }
      double[] micros = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        micros[i] = round(op.getValue(), seconds);
      }
      Arrays.sort(micros);
      out.append(String.format(",\"%s\":{\"min\":%.3f,\"median\":%.3f,\"max\":%.3f}",
          op.getKey(), micros[0], micros[rounds / 2], micros[rounds - 1]));
    }
    System.out.println(out.append('}'));
    try (var paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  private static byte[] utf8z(String s) {
    return (s + "\0").getBytes(StandardCharsets.UTF_8);
  }

  private static long prepare(String sql) {
    LongByReference statement = new LongByReference();
    check(Sqlite.sqlite3_prepare_v2(db, utf8z(sql), -1, statement, null));
    return statement.getValue();
  }

  private static void run(long statement) {
    check(Sqlite.sqlite3_step(statement));
    Sqlite.sqlite3_reset(statement);
  }

  private static void check(int rc) {
    if (rc != 0 && rc != ROW && rc != 101) {
      throw new IllegalStateException("SQLite result code " + rc);
    }
  }

  private static double round(Runnable op, double seconds) {
    long budget = (long) (seconds * 1e9);
    long start = THREADS.getCurrentThreadCpuTime();
    long calls = 0;
    while (THREADS.getCurrentThreadCpuTime() - start < budget) {
      for (int i = 0; i < 16; i++) {
        op.run();
      }
      calls += 16;
    }
    return (THREADS.getCurrentThreadCpuTime() - start) / 1e3 / calls;
  }
}
