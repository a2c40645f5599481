package dev.buildnet.state;

import dev.buildnet.tck.MutableClock;
import dev.buildnet.internal.state.RawSqlite;
import dev.buildnet.internal.state.SqliteSchema;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What is particular to the SQLite backend: its file, schema, durability and extra API. */
class SqliteStateBackendFileTest {
  private static final Duration TTL = Duration.ofSeconds(10);

  @TempDir Path directory;

  private Path file() {
    return directory.resolve("state.db");
  }

  private SqliteStateBackend open(MutableClock clock) {
    return SqliteStateBackend.builder(file()).clock(clock).open();
  }

  private static long count(Path file, String sql) throws SQLException {
    return RawSqlite.count(file, sql);
  }

  private static void execute(Path file, String sql) throws SQLException {
    RawSqlite.execute(file, sql);
  }

  private static StateException assertOpenFails(Path file, String... fragments) {
    StateException e = assertThrows(StateException.class, () -> SqliteStateBackend.open(file));
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }
    return e;
  }

  @Nested
  class Schema {
    @Test
    void newFile_recordsSchemaVersionOne() throws Exception {
      SqliteStateBackend.open(file()).close();
      assertEquals(1, count(file(), "SELECT version FROM schema_version"));
      assertEquals(1, count(file(), "SELECT count(*) FROM schema_version"));
      assertEquals(4, count(file(), "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
          + " AND name IN ('schema_version', 'kv', 'locks', 'fencing')"));
      assertEquals(1, SqliteSchema.CURRENT_VERSION);
    }

    @Test
    void newFile_isInWalMode() throws Exception {
      SqliteStateBackend.open(file()).close();
      try (RawSqlite raw = RawSqlite.open(file())) {
        assertEquals("wal", raw.text("PRAGMA journal_mode"));
      }
    }

    @Test
    void newerSchemaVersion_isRefusedAndTheFileLeftAlone() throws Exception {
      SqliteStateBackend.open(file()).close();
      execute(file(), "UPDATE schema_version SET version = 2");
      byte[] before = Files.readAllBytes(file());
      assertOpenFails(file(), file().toString(), "schema version 2", "up to 1");
      assertArrayEquals(before, Files.readAllBytes(file()));
      assertEquals(2, count(file(), "SELECT version FROM schema_version"));
    }

    @Test
    void existingDatabase_keepsItsDataAcrossReopen() {
      MutableClock clock = new MutableClock();
      try (SqliteStateBackend backend = open(clock)) {
        backend.setString("forever", "1");
        backend.setString("for a while", "2", TTL);
      }
      try (SqliteStateBackend backend = open(clock)) {
        assertEquals("1", backend.getString("forever").orElseThrow());
        assertEquals("2", backend.getString("for a while").orElseThrow());
        clock.advance(TTL);
        assertTrue(backend.getString("for a while").isEmpty());
        assertEquals(List.of("forever"), backend.keys(""));
      }
    }

    @Test
    void emptyFile_isInitialisedAsANewDatabase() throws Exception {
      Files.createFile(file());
      try (SqliteStateBackend backend = SqliteStateBackend.open(file())) {
        backend.setString("k", "v");
      }
      assertEquals(1, count(file(), "SELECT version FROM schema_version"));
    }
  }

  @Nested
  class BadFiles {
    @Test
    void randomBytes_areRefusedAsNotABuildNetDatabaseAndLeftUntouched() throws Exception {
      byte[] garbage = new byte[8192];
      new Random(42).nextBytes(garbage);
      Files.write(file(), garbage);
      assertOpenFails(file(), file().toString(), "not a valid BuildNet state database");
      assertArrayEquals(garbage, Files.readAllBytes(file()));
      assertFalse(Files.exists(directory.resolve("state.db-wal")));
    }

    @Test
    void textFile_isRefusedAndLeftUntouched() throws Exception {
      byte[] text = "remember to buy milk\n".getBytes(UTF_8);
      Files.write(file(), text);
      assertOpenFails(file(), file().toString(), "not a valid BuildNet state database");
      assertArrayEquals(text, Files.readAllBytes(file()));
    }

    @Test
    void sqliteHeaderFollowedByGarbage_isRefusedAndLeftUntouched() throws Exception {
      byte[] bytes = new byte[8192];
      new Random(7).nextBytes(bytes);
      byte[] header = "SQLite format 3\0".getBytes(UTF_8);
      System.arraycopy(header, 0, bytes, 0, header.length);
      Files.write(file(), bytes);
      assertOpenFails(file(), file().toString(), "not a valid BuildNet state database");
      assertArrayEquals(bytes, Files.readAllBytes(file()));
    }

    @Test
    void someoneElsesSqliteDatabase_isRefusedAndLeftUntouched() throws Exception {
      execute(file(), "CREATE TABLE users (name TEXT)");
      byte[] before = Files.readAllBytes(file());
      assertOpenFails(file(), file().toString(), "not a valid BuildNet state database", "users");
      assertArrayEquals(before, Files.readAllBytes(file()));
    }

    @Test
    void missingDirectory_isRefusedNamingItAndNotCreated() {
      Path missing = directory.resolve("no").resolve("such");
      assertOpenFails(missing.resolve("state.db"), missing.toString(), "does not exist");
      assertFalse(Files.exists(directory.resolve("no")));
    }

    @Test
    void directoryInPlaceOfTheFile_isRefused() throws Exception {
      Files.createDirectory(file());
      assertOpenFails(file(), file().toString(), "is a directory");
    }

    @Test
    void readOnlyFile_isRefusedSayingSo() throws Exception {
      SqliteStateBackend.open(file()).close();
      ReadOnly.make(file());
      try {
        assertOpenFails(file(), file().toString(), "read-only");
      } finally {
        ReadOnly.undo(file());
      }
    }

    @Test
    void readOnlyDirectory_isRefusedSayingSo() throws Exception {
      Path sub = Files.createDirectory(directory.resolve("locked"));
      ReadOnly.make(sub);
      try {
        assertOpenFails(sub.resolve("state.db"), sub.toString(), "read-only");
      } finally {
        ReadOnly.undo(sub);
      }
    }
  }

  /**
   * Makes a path read-only for this process, even for root (who ignores permission bits): with
   * {@code chattr +i} when plain permissions are not enough.
   */
  static final class ReadOnly {
    static void make(Path path) throws IOException, InterruptedException {
      Files.setPosixFilePermissions(
          path, PosixFilePermissions.fromString(Files.isDirectory(path) ? "r-xr-xr-x" : "r--r--r--"));
      if (Files.isWritable(path)) {
        chattr("+i", path);
      }
      assertFalse(Files.isWritable(path),
          "this environment cannot make " + path + " read-only (neither chmod nor chattr work)");
    }

    static void undo(Path path) throws IOException, InterruptedException {
      chattr("-i", path);
      Files.setPosixFilePermissions(
          path, PosixFilePermissions.fromString(Files.isDirectory(path) ? "rwxr-xr-x" : "rw-r--r--"));
    }

    private static void chattr(String flag, Path path) throws IOException, InterruptedException {
      Process process = new ProcessBuilder("chattr", flag, path.toString())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Nested
  class Fencing {
    @Test
    void tokens_neverRepeatAfterCloseAndReopen() {
      MutableClock clock = new MutableClock();
      long first;
      try (SqliteStateBackend backend = open(clock)) {
        Lock lock = backend.acquireLock("r", TTL, "alice").orElseThrow();
        first = lock.fencingToken();
        backend.release(lock);
      }
      try (SqliteStateBackend backend = open(clock)) {
        assertTrue(backend.acquireLock("r", TTL, "bob").orElseThrow().fencingToken() > first);
      }
    }

    @Test
    void lease_outlivesReopenUntilItExpiresThenIsRegrantedWithAHigherToken() {
      MutableClock clock = new MutableClock();
      Lock held;
      try (SqliteStateBackend backend = open(clock)) {
        held = backend.acquireLock("r", TTL, "alice").orElseThrow();
      }
      try (SqliteStateBackend backend = open(clock)) {
        assertTrue(backend.acquireLock("r", TTL, "bob").isEmpty());
        clock.advance(TTL);
        Lock regranted = backend.acquireLock("r", TTL, "bob").orElseThrow();
        assertTrue(regranted.fencingToken() > held.fencingToken());
      }
      try (SqliteStateBackend backend = open(clock)) {
        clock.advance(TTL);
        backend.sweepExpired(); // deletes the lease row; the token counter must survive it
        assertEquals(held.fencingToken() + 2,
            backend.acquireLock("r", TTL, "carol").orElseThrow().fencingToken());
      }
    }

    @Test
    void twoBackendsOnOneFile_excludeEachOtherAndShareTokens() {
      MutableClock clock = new MutableClock();
      try (SqliteStateBackend a = open(clock); SqliteStateBackend b = open(clock)) {
        Lock lock = a.acquireLock("r", TTL, "alice").orElseThrow();
        assertTrue(b.acquireLock("r", TTL, "bob").isEmpty());
        a.release(lock);
        Lock next = b.acquireLock("r", TTL, "bob").orElseThrow();
        assertEquals(lock.fencingToken() + 1, next.fencingToken());
        a.setString("k", "written by a");
        assertEquals("written by a", b.getString("k").orElseThrow());
      }
    }
  }

  @Nested
  class Sweeping {
    @Test
    void sweepExpired_deletesOnlyExpiredRowsInBatches() throws Exception {
      MutableClock clock = new MutableClock();
      try (SqliteStateBackend backend = open(clock)) {
        int expiring = SqliteStateBackend.SWEEP_BATCH * 2 + 10;
        Map<String, byte[]> forever = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
          forever.put("keep" + i, new byte[] {1});
        }
        backend.setAll(forever);
        for (int i = 0; i < expiring; i++) {
          backend.set("gone" + i, new byte[] {1}, TTL);
        }
        backend.acquireLock("lapsed", TTL, "alice").orElseThrow();
        backend.acquireLock("live", TTL.multipliedBy(2), "alice").orElseThrow();
        clock.advance(TTL);

        assertEquals(expiring + 1, backend.sweepExpired());
        assertEquals(0, backend.sweepExpired());
        assertEquals(5, count(file(), "SELECT count(*) FROM kv"));
        assertEquals(1, count(file(), "SELECT count(*) FROM locks"));
        assertEquals(2, count(file(), "SELECT count(*) FROM fencing"));
      }
    }

    @Test
    void sweeperThread_sweepsInTheBackgroundAndStopsAtClose() throws Exception {
      MutableClock time = new MutableClock();
      AtomicBoolean armed = new AtomicBoolean();
      CountDownLatch sweeperReadTheClock = new CountDownLatch(2);
      Clock watched = new Clock() {
        @Override
        public long millis() {
          if (armed.get() && Thread.currentThread().getName().equals("buildnet-state-sweeper")) {
            sweeperReadTheClock.countDown();
          }
          return time.millis();
        }

        @Override
        public Instant instant() {
          return Instant.ofEpochMilli(millis());
        }

        @Override
        public ZoneId getZone() {
          return time.getZone();
        }

        @Override
        public Clock withZone(ZoneId zone) {
          throw new UnsupportedOperationException();
        }
      };
      SqliteStateBackend backend = SqliteStateBackend.builder(file())
          .clock(watched)
          .sweepInterval(Duration.ofMillis(1))
          .open();
      Thread sweeper;
      try {
        for (int i = 0; i < 10; i++) {
          backend.set("gone" + i, new byte[] {1}, TTL);
        }
        time.advance(TTL);
        armed.set(true);
        // Two clock reads after the keys expired include one by a kv sweep, which close() below
        // lets finish (it waits for the write connection).
        assertTrue(sweeperReadTheClock.await(30, TimeUnit.SECONDS), "the sweeper never ran");
        sweeper = backend.maintenance().thread();
        assertNotNull(sweeper);
        assertTrue(sweeper.isDaemon());
        assertEquals("buildnet-state-sweeper", sweeper.getName());
      } finally {
        backend.close();
      }
      sweeper.join(10_000);
      assertFalse(sweeper.isAlive(), "the sweeper should stop at close");
      assertEquals(0, count(file(), "SELECT count(*) FROM kv"));
    }
  }

  @Nested
  class Checkpoints {
    @Test
    void checkpoint_copiesTheLogIntoTheDatabaseFile() throws Exception {
      try (SqliteStateBackend backend = open(new MutableClock())) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < 400; i++) {
          entries.put("k" + i, new byte[4096]);
        }
        backend.setAll(entries); // ~1.6 MB, one commit: below the checkpoint threshold
        assertTrue(backend.maintenance().checkpoint());
        assertTrue(Files.size(file()) > 400 * 4096, "size " + Files.size(file()));
        assertEquals(400, backend.keys("k").size());
      }
    }

    /**
     * SQLite starts the log over only after a checkpoint that copied all of it. A first pass held
     * back (here by a reader of an older snapshot; under steady writes, by the frames they add
     * while it flushes) leaves some behind; the second pass copies them, so the next write starts
     * the log over instead of letting it grow to the backstop's 10,000 pages.
     */
    @Test
    void checkpoint_whoseFirstPassWasHeldBack_stillLetsTheLogStartOver() throws Exception {
      try (SqliteStateBackend backend = open(new MutableClock());
          RawSqlite reader = RawSqlite.open(file())) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < 100; i++) {
          entries.put("k" + i, new byte[4096]);
        }
        backend.setAll(entries);
        reader.execute("BEGIN");
        assertEquals(100, reader.number("SELECT count(*) FROM kv")); // pins this snapshot
        backend.set("during", new byte[] {1}); // a frame the first pass may not copy
        assertTrue(backend.maintenance().checkpoint(() -> {
          try {
            reader.execute("COMMIT");
          } catch (SQLException e) {
            throw new AssertionError(e);
          }
        }));
        backend.set("after", new byte[] {2});
        long frames = reader.number("PRAGMA wal_checkpoint(PASSIVE)", 1);
        assertTrue(frames < 10, "the log did not start over: " + frames + " frames");
        assertEquals("after", backend.keys("after").get(0));
      }
    }

    @Test
    void checkpoint_afterClose_reportsFalse() {
      SqliteStateBackend backend = open(new MutableClock());
      backend.close();
      assertFalse(backend.maintenance().checkpoint());
    }
  }

  @Nested
  class SetAll {
    @Test
    void setAll_storesEveryEntryWithoutExpiry() {
      MutableClock clock = new MutableClock();
      try (SqliteStateBackend backend = open(clock)) {
        backend.setString("k0", "old", TTL);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < 1000; i++) {
          entries.put("k" + i, ("v" + i).getBytes(UTF_8));
        }
        backend.setAll(entries);
        clock.advance(TTL);
        assertEquals(1000, backend.keys("k").size());
        assertEquals("v0", backend.getString("k0").orElseThrow());
        assertEquals("v999", backend.getString("k999").orElseThrow());
      }
    }

    /**
     * setAll writes full statements of SET_ALL_ROWS rows and then one smaller statement per bit of
     * the remainder: every size up to three full statements, each entry's own value, and the last
     * entry (in the smallest statement) overwriting a key that had an expiry.
     */
    @Test
    void setAll_ofEverySizeUpToThreeFullStatements_storesEveryEntry() {
      MutableClock clock = new MutableClock();
      try (SqliteStateBackend backend = open(clock)) {
        int largest = 3 * SqliteStateBackend.SET_ALL_ROWS;
        for (int size = 1; size <= largest; size++) {
          String prefix = size + "/";
          backend.setString(prefix + (size - 1), "expiring", TTL);
          Map<String, byte[]> entries = new LinkedHashMap<>();
          for (int i = 0; i < size; i++) {
            entries.put(prefix + i, (prefix + "v" + i).getBytes(UTF_8));
          }
          backend.setAll(entries);
        }
        clock.advance(TTL);
        for (int size = 1; size <= largest; size++) {
          String prefix = size + "/";
          assertEquals(size, backend.keys(prefix).size(), prefix);
          for (int i = 0; i < size; i++) {
            assertEquals(prefix + "v" + i, backend.getString(prefix + i).orElseThrow(), prefix + i);
          }
        }
      }
    }

    /**
     * 20,000 keys in one call bind 40,000 values, past SQLite's limit of 32,766 per statement,
     * and, with hashed keys, each SET_ALL_ROWS statement changes far more than the 16 pages a
     * statement journal keeps before it would spill to a temporary file (it stays in memory).
     * Overwriting every other key then changes every page of the table again.
     */
    @Test
    void setAll_ofManyKeysSpreadOverTheTable_storesEveryValue() {
      try (SqliteStateBackend backend = open(new MutableClock())) {
        Map<String, byte[]> all = new LinkedHashMap<>();
        Map<String, byte[]> everyOther = new LinkedHashMap<>();
        for (int i = 0; i < 20_000; i++) {
          String key = String.format("action/%08x", i * 2654435761L & 0xffffffffL);
          all.put(key, ("first " + i).getBytes(UTF_8));
          if (i % 2 == 0) {
            everyOther.put(key, ("second " + i).getBytes(UTF_8));
          }
        }
        backend.setAll(all);
        backend.setAll(everyOther);
        assertEquals(20_000, backend.keys("action/").size());
        int i = 0;
        for (String key : all.keySet()) {
          assertEquals((i % 2 == 0 ? "second " : "first ") + i, backend.getString(key).orElseThrow(),
              key);
          i++;
        }
      }
    }

    @Test
    void setAll_withABadEntry_storesNothing() {
      try (SqliteStateBackend backend = open(new MutableClock())) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("good", new byte[] {1});
        entries.put("bad", null);
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> backend.setAll(entries));
        assertTrue(e.getMessage().contains("'bad'"), e.getMessage());
        entries.remove("bad");
        entries.put("", new byte[] {1});
        assertThrows(IllegalArgumentException.class, () -> backend.setAll(entries));
        assertThrows(IllegalArgumentException.class, () -> backend.setAll(null));
        assertEquals(List.of(), backend.keys(""));
      }
    }

    @Test
    void setAll_ofNothing_isANoOp() {
      try (SqliteStateBackend backend = open(new MutableClock())) {
        backend.setAll(Map.of());
        assertEquals(List.of(), backend.keys(""));
      }
    }

    @Test
    void setAll_afterClose_throwsIllegalState() {
      SqliteStateBackend backend = open(new MutableClock());
      backend.close();
      assertThrows(IllegalStateException.class, () -> backend.setAll(Map.of("k", new byte[0])));
    }
  }

  /**
   * Values and keys far larger than a driver's first buffers (the native driver starts with 16 KiB
   * for a run's arguments and 16 KiB for a row, and grows them): every path through the backend
   * that carries them returns them whole.
   */
  @Nested
  class LargeValues {
    private byte[] random(int size, long seed) {
      byte[] bytes = new byte[size];
      new Random(seed).nextBytes(bytes);
      return bytes;
    }

    @Test
    void aValueOfAMebibyte_roundTripsThroughSetGetAndCompareAndSet() {
      try (SqliteStateBackend backend = open(new MutableClock())) {
        byte[] big = random(1 << 20, 1);
        byte[] other = random((1 << 20) + 3, 2);
        backend.set("big", big);
        assertArrayEquals(big, backend.get("big").orElseThrow());
        assertTrue(backend.compareAndSet("big", big, other));
        assertArrayEquals(other, backend.get("big").orElseThrow());
        backend.set("small", new byte[] {7});
        assertArrayEquals(new byte[] {7}, backend.get("small").orElseThrow());
      }
    }

    @Test
    void setAllOfLargeValues_andKeysLongerThanARowBuffer_areStoredAndListedWhole() {
      try (SqliteStateBackend backend = open(new MutableClock())) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < 130; i++) {
          entries.put("v" + i, random(100_000 + i, i));
        }
        String longKey = "k" + "x".repeat(40_000) + "\u00e9\uD83D\uDE00";
        entries.put(longKey, random(10, 99));
        backend.setAll(entries);
        for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
          assertArrayEquals(entry.getValue(), backend.get(entry.getKey()).orElseThrow());
        }
        assertEquals(List.of(longKey), backend.keys("k"));
        assertEquals(130, backend.keys("v").size());
      }
    }
  }

  @Nested
  class Configuration {
    @Test
    void builder_rejectsBadSettingsWithMessagesNamingThem() {
      assertThrows(IllegalArgumentException.class, () -> SqliteStateBackend.builder(null));
      SqliteStateBackend.Builder builder = SqliteStateBackend.builder(file());
      assertMessage(IllegalArgumentException.class, "busyTimeout",
          () -> builder.busyTimeout(Duration.ZERO));
      assertMessage(IllegalArgumentException.class, "busyTimeout",
          () -> builder.busyTimeout(Duration.ofDays(30)));
      assertMessage(IllegalArgumentException.class, "busyTimeout", () -> builder.busyTimeout(null));
      assertMessage(IllegalArgumentException.class, "sweepInterval",
          () -> builder.sweepInterval(Duration.ofMillis(-1)));
      assertMessage(IllegalArgumentException.class, "synchronous", () -> builder.synchronous(null));
      assertMessage(IllegalArgumentException.class, "clock", () -> builder.clock(null));
      builder.busyTimeout(Duration.ofSeconds(1));
      assertMessage(IllegalStateException.class, "already set",
          () -> builder.busyTimeout(Duration.ofSeconds(2)));
      assertMessage(IllegalArgumentException.class, "'?'",
          () -> SqliteStateBackend.builder(directory.resolve("what?.db")));
    }

    @Test
    void synchronousFull_storesAndReadsBack() {
      try (SqliteStateBackend backend = SqliteStateBackend.builder(file())
          .synchronous(SqliteStateBackend.Synchronous.FULL)
          .open()) {
        backend.setString("k", "v");
        assertEquals("v", backend.getString("k").orElseThrow());
      }
    }

    @Test
    void writeWhileAnotherConnectionHoldsTheWriteLock_failsAfterTheBusyTimeout() throws Exception {
      try (SqliteStateBackend backend = SqliteStateBackend.builder(file())
              .busyTimeout(Duration.ofMillis(50))
              .open();
          RawSqlite other = RawSqlite.open(file())) {
        other.execute("BEGIN IMMEDIATE");
        StateException e =
            assertThrows(StateException.class, () -> backend.setString("k", "v"));
        assertTrue(e.getMessage().contains("busy timeout of 50 ms"), e.getMessage());
        assertTrue(e.getMessage().contains("'k'"), e.getMessage());
        // Reads are not blocked by a writer in WAL mode.
        assertTrue(backend.get("k").isEmpty());
        other.execute("ROLLBACK");
        backend.setString("k", "v");
      }
    }

    private static <T extends Throwable> void assertMessage(
        Class<T> type, String fragment, org.junit.jupiter.api.function.Executable call) {
      T e = assertThrows(type, call);
      assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in " + e.getMessage());
    }
  }
}
