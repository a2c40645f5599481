package dev.buildnet.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.StateException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database that cannot grow (SQLite's max_page_count: a real SQLITE_FULL from SQLite itself,
 * with no disk to fill) fails writes with a clear message, and the same instance writes again once
 * it may grow. Before, sqlite-jdbc's finalized statements stayed in the cache and every later write
 * failed with "statement is not executing". {@code DiskFullTest} does the same on a real full disk.
 */
class SqliteStateBackendFullTest {
  /** Bigger than a page: storing it always needs new (overflow) pages. */
  private static final byte[] BIG = new byte[8192];

  @TempDir Path dir;

  private static StateException assertFull(Executable write, Path dir) {
    StateException e = assertThrows(StateException.class, write);
    assertTrue(e.getMessage().contains("the disk holding " + dir + " is full: "), e.getMessage());
    assertTrue(e.getMessage().matches("(?s).* is full: \\d+ bytes free .*"), e.getMessage());
    assertFalse(e.getMessage().contains("statement is not executing"), e.getMessage());
    return e;
  }

  @Test
  void aFullDatabase_failsEveryGrowingWriteSayingSo_thenTheSameInstanceWritesAgain() {
    try (SqliteStateBackend state = SqliteStateBackend.open(dir.resolve("state.db"))) {
      state.setString("before", "kept");
      state.increment("counter", 1);
      assertEquals(Optional.empty(), state.writeFailure());

      state.capPages(1); // SQLite keeps the current size: no page more
      assertFull(() -> state.set("big", BIG), dir);
      assertFull(() -> state.set("big", BIG), dir); // the same statement again
      assertFull(() -> state.set("ttl", BIG, Duration.ofMinutes(1)), dir);
      assertFull(() -> state.setAll(Map.of("a", BIG, "b", BIG)), dir);
      assertFull(() -> state.setIfAbsent("new", BIG, null), dir);
      assertFull(() -> state.compareAndSet("before", "kept".getBytes(StandardCharsets.UTF_8), BIG),
          dir);
      String failure = state.writeFailure().orElseThrow();
      assertTrue(failure.startsWith("cannot write to " + state.name() + ": the disk holding " + dir
          + " is full: "), failure);
      // Reads go on, and what was committed before is intact.
      assertEquals("kept", state.getString("before").orElseThrow());
      assertEquals(Optional.empty(), state.get("big"));

      state.capPages(1_000_000); // room again
      state.set("big", BIG);
      assertEquals(Optional.empty(), state.writeFailure(), "a write that succeeds clears it");
      state.set("ttl", BIG, Duration.ofMinutes(1));
      state.setAll(Map.of("a", BIG, "b", BIG));
      assertTrue(state.setIfAbsent("new", BIG, null));
      assertTrue(state.compareAndSet("before", "kept".getBytes(StandardCharsets.UTF_8), BIG));
      assertEquals(2, state.increment("counter", 1));
      assertTrue(state.acquireLock("r", Duration.ofMinutes(1), "me").isPresent());
      assertArrayEquals(BIG, state.get("big").orElseThrow());
      assertEquals(Optional.empty(), state.writeFailure());
    }
  }

  @Test
  void aFailedTransaction_leavesNoTransactionOpen() {
    try (SqliteStateBackend state = SqliteStateBackend.open(dir.resolve("state.db"))) {
      state.capPages(1);
      assertFull(() -> state.setAll(Map.of("a", BIG, "b", BIG, "c", BIG)), dir);
      state.capPages(1_000_000);
      state.setString("after", "x");
      // Another connection sees the write at once: it was committed, not left in an open
      // transaction that a later rollback would undo.
      try (SqliteStateBackend other = SqliteStateBackend.open(dir.resolve("state.db"))) {
        assertEquals("x", other.getString("after").orElseThrow());
        assertEquals(Optional.empty(), other.get("a"), "the failed batch stored nothing");
      }
    }
  }
}
