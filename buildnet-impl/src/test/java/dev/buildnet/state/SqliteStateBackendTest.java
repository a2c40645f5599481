package dev.buildnet.state;

import dev.buildnet.tck.MutableClock;
import dev.buildnet.tck.StateBackendCompatibilityKit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The compatibility kit against a real SQLite file per test. File handling, schema, crash and
 * multi-process behaviour are in {@link SqliteStateBackendFileTest} and
 * {@link SqliteStateBackendProcessTest}.
 */
class SqliteStateBackendTest extends StateBackendCompatibilityKit {
  @TempDir Path directory;

  @Override
  protected StateBackend createBackend(MutableClock clock) {
    return SqliteStateBackend.builder(directory.resolve("state.db")).clock(clock).open();
  }

  @Test
  void capabilities_arePersistentWithCrossProcessLocksAndNoPubSub() {
    assertEquals(new StateCapabilities(false, true, true, false), backend.capabilities());
  }

  @Test
  void name_isSqliteAndTheAbsolutePath() {
    assertEquals("sqlite:" + directory.resolve("state.db").toAbsolutePath(), backend.name());
    assertTrue(backend.name().startsWith("sqlite:/"));
  }
}
