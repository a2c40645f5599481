package dev.buildnet.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API's static factories find these implementations through ServiceLoader. */
class DefaultProvidersTest {
  @TempDir Path dir;

  @Test
  void stateFactoriesOpenWorkingBackends() {
    try (StateBackend mem = StateBackend.inMemory();
        StateBackend file = StateBackend.sqlite(dir.resolve("s.db"))) {
      mem.setString("k", "v");
      file.setString("k", "w");
      assertEquals("v", mem.getString("k").orElseThrow());
      assertEquals("w", file.getString("k").orElseThrow());
      assertTrue(file.capabilities().persistent());
      assertTrue(mem.capabilities().pubSub());
    }
  }

  @Test
  void sqliteFactory_createsMissingParentDirectories() {
    Path file = dir.resolve("workspace/.buildnet/state.db");
    try (StateBackend state = StateBackend.sqlite(file)) {
      state.setString("k", "v");
    }
    assertTrue(Files.isRegularFile(file));
    try (StateBackend again = StateBackend.sqlite(file)) {
      assertEquals("v", again.getString("k").orElseThrow());
    }
  }

  @Test
  void sqliteFactory_whenAFileBlocksTheDirectory_failsWithOneLineNamingIt() throws Exception {
    Files.writeString(dir.resolve("workspace"), "a file, not a directory");
    StateException e = assertThrows(StateException.class,
        () -> StateBackend.sqlite(dir.resolve("workspace/.buildnet/state.db")));
    assertTrue(e.getMessage().contains("cannot create directory " + dir.resolve("workspace/.buildnet")),
        e.getMessage());
    assertTrue(e.getMessage().contains(dir.resolve("workspace") + " is a file"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void hashFactoriesNameTheirAlgorithms() {
    assertEquals("xxh64:ef46db3751d8e999", HashProvider.xxh64().hash(new byte[0]).toString());
    assertEquals("sha256", HashProvider.sha256().algorithm());
  }

  @Test
  void theProcessShellRunsAnArgvList() {
    var r = ShellProvider.processes().run(CommandSpec.of(List.of("true"), dir, Map.of()));
    assertTrue(r.succeeded());
  }
}
