package dev.buildnet.internal.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The statement API the state backend runs on, on whichever driver this surefire run chose (the
 * build runs the package once per driver).
 */
class SqliteStatementTest {
  @TempDir Path dir;
  private SqliteConnection connection;

  @BeforeEach
  void open() throws SQLException {
    connection = new SqliteConnection(
        SqliteDriver.current().open(dir.resolve("t.db"), false, Duration.ofSeconds(5)));
    connection.lock();
    connection.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL)");
  }

  @AfterEach
  void close() throws SQLException {
    connection.close();
    connection.unlock();
  }

  @Test
  void fewerArgumentsThanParameters_isAnError_notARunWithTheLastBindings() throws SQLException {
    SqliteStatement insert = connection.statement("INSERT INTO kv (k, v) VALUES (?1, ?2)");
    insert.execute("a", new byte[] {1});
    // The native binding binds text and BLOBs without copying them: a parameter left out would
    // still point into the argument buffer of an earlier run.
    assertThrows(SQLException.class, () -> insert.execute("b"));
    SqliteStatement get = connection.statement("SELECT v FROM kv WHERE k = ?1");
    assertArrayEquals(new byte[] {1}, get.queryRow(row -> row.bytes(0), "a"));
    assertNull(get.queryRow(row -> row.bytes(0), "b"));
  }

  @Test
  void aValueLargerThanTheKeptBuffers_isWrittenAndReadWhole_andSmallRunsWorkAfterIt()
      throws SQLException {
    byte[] big = new byte[3 * NativeDatabase.KEPT_BUFFER];
    Arrays.fill(big, (byte) 7);
    big[big.length - 1] = 9;
    SqliteStatement insert = connection.statement("INSERT INTO kv (k, v) VALUES (?1, ?2)");
    SqliteStatement get = connection.statement("SELECT v FROM kv WHERE k = ?1");
    insert.execute("big", big);
    assertArrayEquals(big, get.queryRow(row -> row.bytes(0), "big"));
    // The next small runs let the grown buffers go; the statements bound to them run on.
    insert.execute("small", new byte[] {5});
    assertArrayEquals(new byte[] {5}, get.queryRow(row -> row.bytes(0), "small"));
    assertArrayEquals(big, get.queryRow(row -> row.bytes(0), "big"));
    assertArrayEquals(new byte[] {5}, get.queryRow(row -> row.bytes(0), "small"));
  }

  @Test
  void queryBytes_readsColumnZero_ofTheRowMatchingATextAndANumber_orNullWithoutARow()
      throws SQLException {
    connection.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL, e INTEGER NOT NULL)");
    SqliteStatement insert = connection.statement("INSERT INTO t (k, v, e) VALUES (?1, ?2, ?3)");
    byte[] mib = new byte[1024 * 1024];
    Arrays.fill(mib, (byte) 3);
    mib[mib.length - 1] = 4;
    String nonAscii = "caf\u00e9/\u65e5\u672c/\ud83d\ude00";
    insert.execute("ascii", new byte[] {1, 2}, 100L);
    insert.execute(nonAscii, new byte[] {9}, 100L);
    insert.execute("empty", new byte[0], 100L);
    insert.execute("mib", mib, 100L);
    insert.execute("", new byte[] {7}, 100L);
    SqliteStatement get = connection.statement("SELECT v FROM t WHERE k = ?1 AND e > ?2");

    assertArrayEquals(new byte[] {1, 2}, get.queryBytes("ascii", 99));
    assertArrayEquals(new byte[] {9}, get.queryBytes(nonAscii, 99));
    assertArrayEquals(new byte[0], get.queryBytes("empty", 99)); // empty, not null: a row was found
    assertArrayEquals(mib, get.queryBytes("mib", 99));
    assertArrayEquals(new byte[] {7}, get.queryBytes("", 99));
    assertNull(get.queryBytes("missing", 99));
    assertNull(get.queryBytes("ascii", 100)); // the number is bound too: "expired"
    // The key is bound as text, not matched by a prefix or as bytes of another encoding.
    assertNull(get.queryBytes("caf\u00e9", 99));
    assertNull(get.queryBytes("asci", 99));
    // Each call leaves the statement reset: queryRow on it still works, with its own arguments.
    assertArrayEquals(new byte[] {1, 2}, get.queryRow(row -> row.bytes(0), "ascii", 99L));
    assertEquals(1, get.queryBytes(nonAscii, 0).length);
  }
}
