package dev.buildnet.state;

import dev.buildnet.internal.state.ChildJvm;
import dev.buildnet.internal.state.KeyWriterMain;
import dev.buildnet.internal.state.LockContenderMain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SQLite backend shared by real processes, and killed with SIGKILL. */
public class SqliteStateBackendProcessTest {
  private static final long STARTUP_SECONDS = 30;

  @TempDir Path directory;

  @Test
  void twoProcesses_neverHoldTheLockAtOnceAndTokensFollowGrantOrder() throws Exception {
    int rounds = 150;
    Path state = directory.resolve("state.db");
    Path log = directory.resolve("critical-sections.log");
    // Create the file first so the children do not race to create the schema (also covered, by
    // the schema's immediate transaction, but not what this test is about).
    SqliteStateBackend.open(state).close();
    // One on each SQLite driver: they must exclude each other through the file's locks.
    try (ChildJvm a = ChildJvm.start(directory, true, LockContenderMain.class,
            state.toString(), "process-a", Integer.toString(rounds), log.toString());
        ChildJvm b = ChildJvm.start(directory, false, LockContenderMain.class,
            state.toString(), "process-b", Integer.toString(rounds), log.toString())) {
      assertEquals("ready", a.nextLine(STARTUP_SECONDS), a.diagnostics());
      assertEquals("ready", b.nextLine(STARTUP_SECONDS), b.diagnostics());
      a.send("go");
      b.send("go");
      assertEquals(0, a.waitFor(90), a.diagnostics());
      assertEquals(0, b.waitFor(90), b.diagnostics());
    }

    List<Section> sections = Section.parse(Files.readAllLines(log));
    assertEquals(2 * rounds, sections.size(), "critical sections logged");
    sections.sort(Comparator.comparingLong(Section::token));
    Set<String> owners = new HashSet<>();
    for (int i = 0; i < sections.size(); i++) {
      Section s = sections.get(i);
      owners.add(s.owner);
      assertTrue(s.enter < s.exit, s.toString());
      if (i > 0) {
        Section previous = sections.get(i - 1);
        assertTrue(previous.token < s.token, "tokens repeat: " + previous + " / " + s);
        assertTrue(previous.exit < s.enter,
            "overlapping critical sections, or tokens out of grant order: " + previous + " / " + s);
      }
    }
    assertEquals(Set.of("process-a", "process-b"), owners);
    try (SqliteStateBackend backend = SqliteStateBackend.open(state)) {
      assertEquals(Long.toString(2L * rounds), backend.getString("counter").orElseThrow(),
          "a counter updated non-atomically inside the lock lost updates");
    }
  }

  @Test
  void everyConfirmedWrite_survivesKillMinus9() throws Exception {
    Path state = directory.resolve("state.db");
    Map<String, String> confirmed = new HashMap<>();
    long lastCounter = 0;
    int exitCode;
    Path confirmations = directory.resolve("confirmations.log");
    try (ChildJvm writer = ChildJvm.start(
        directory, KeyWriterMain.class, state.toString(), confirmations.toString())) {
      // stdout only paces the test: wait for 500 confirmed keys, then kill mid-write.
      for (Map<String, String> seen = new HashMap<>(); seen.size() < 500; ) {
        String line = writer.nextLine(STARTUP_SECONDS);
        if (line == null) {
          throw new AssertionError("writer ended early; " + writer.diagnostics());
        }
        record(line, seen, 0);
      }
      writer.kill(); // SIGKILL, in the middle of writing
      exitCode = writer.waitFor(10);
    }
    assertEquals(137, exitCode, "killed by SIGKILL");
    // Every confirmation the writer made before it died, including lines a pipe could drop.
    for (String line : Files.readAllLines(confirmations, StandardCharsets.UTF_8)) {
      lastCounter = record(line, confirmed, lastCounter);
    }
    assertTrue(confirmed.size() >= 500, confirmed.size() + " confirmed keys in the log");

    try (SqliteStateBackend backend = SqliteStateBackend.open(state)) {
      for (Map.Entry<String, String> entry : confirmed.entrySet()) {
        assertEquals(entry.getValue(), backend.getString(entry.getKey()).orElse(null),
            "confirmed write of " + entry.getKey() + " lost");
      }
      long counter = Long.parseLong(backend.getString("counter").orElseThrow());
      // The last increment may have committed after its confirmation was cut off, never before.
      assertTrue(counter == lastCounter || counter == lastCounter + 1,
          "counter " + counter + " after confirming " + lastCounter);
      backend.setString("still", "writable");
    }
  }

  private static long record(String line, Map<String, String> confirmed, long lastCounter) {
    String[] parts = line.split(" ");
    if (!parts[parts.length - 1].equals(".")) {
      return lastCounter; // cut off by the kill: no confirmation
    }
    if (parts[0].equals("set") && parts.length == 4) {
      confirmed.put(parts[1], parts[2]);
      return lastCounter;
    }
    if (parts[0].equals("counter") && parts.length == 3) {
      return Long.parseLong(parts[1]);
    }
    throw new AssertionError("unexpected line from the writer: " + line);
  }

  private record Section(String owner, long token, long enter, long exit) {
    static List<Section> parse(List<String> lines) {
      Map<Long, String[]> enters = new HashMap<>();
      List<Section> sections = new ArrayList<>();
      for (String line : lines) {
        String[] f = line.split(" ");
        long token = Long.parseLong(f[2]);
        if (f[0].equals("enter")) {
          String[] previous = enters.put(token, f);
          assertEquals(null, previous, "token " + token + " granted twice");
        } else {
          String[] enter = enters.remove(token);
          assertTrue(enter != null && enter[1].equals(f[1]), "exit without enter: " + line);
          sections.add(new Section(f[1], token, Long.parseLong(enter[3]), Long.parseLong(f[3])));
        }
      }
      assertTrue(enters.isEmpty(), "entered but never exited: " + enters.keySet());
      return sections;
    }
  }
}
