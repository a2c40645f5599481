package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import dev.buildnet.cli.LauncherRuns.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's warm BuildNet trusts its input digests until a file event invalidates them (on
 * Linux): builds through the real launcher and daemon still see every edit. An input written just
 * before the build (no pause: the race between the write's event and the build's keys), an edit
 * made while the daemon is idle, a new file and a new directory a glob matches, and a damaged
 * output (outputs are never trusted) are all built from what is on disk.
 */
class DaemonFileStateIT {
  private static final long DEADLINE_SECONDS = 120;

  @TempDir Path tmp;
  Path ws;
  Path daemonDir;

  @BeforeEach
  void workspace() throws Exception {
    ws = Files.createDirectories(tmp.resolve("ws")).toRealPath();
    daemonDir = tmp.resolve("daemon");
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "a0\n");
    Files.writeString(ws.resolve("src/b.txt"), "b0\n");
    // Concatenates every file below src (sorted), so the output tells which inputs it saw.
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {
          "all": {"command": ["sh", "-c",
                   "mkdir -p out && find src -type f | LC_ALL=C sort | xargs cat > out/all.txt"],
                  "inputs": ["src/**"], "outputs": ["out"]}}}
        """);
  }

  @AfterEach
  void stopDaemon() throws Exception {
    run(List.of("daemon", "stop", "-w", ws.toString()));
    DaemonFiles.read(daemonDir.resolve(DaemonFiles.name(ws) + DaemonFiles.SUFFIX))
        .flatMap(s -> ProcessHandle.of(s.pid())).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Test
  void anInputWrittenRightBeforeEachBuild_isSeenByThatBuild() throws Exception {
    build("built 1, cached 0");
    assertEquals("a0\nb0\n", output());
    build("built 0, cached 1"); // a null build, from the trusted state
    if (System.getProperty("os.name").startsWith("Linux")) {
      assertTrue(Files.readString(daemonDir.resolve(DaemonFiles.name(ws) + ".log"))
          .contains("keeping the file state of " + ws + " from file events"),
          "the warm BuildNet trusts file events, so this test exercises that");
    }
    for (int i = 1; i <= 9; i++) {
      // Same size every time, and no pause between the write and the build.
      Files.writeString(ws.resolve("src/a.txt"), "a" + i + "\n");
      build("built 1, cached 0");
      assertEquals("a" + (i % 10) + "\nb0\n", output(), "build " + i + " saw the write before it");
    }
  }

  @Test
  void anEditWhileTheDaemonIsIdle_isBuilt() throws Exception {
    build("built 1, cached 0");
    build("built 0, cached 1");
    Files.writeString(ws.resolve("src/b.txt"), "b1\n");
    Result status = run(List.of("daemon", "status"));
    assertEquals(0, status.code(), status.all());
    build("built 1, cached 0");
    assertEquals("a0\nb1\n", output());
    build("built 0, cached 1");
  }

  @Test
  void aNewFileAndANewDirectoryTheGlobMatches_areBuilt() throws Exception {
    build("built 1, cached 0");
    Files.writeString(ws.resolve("src/c.txt"), "c0\n");
    build("built 1, cached 0");
    assertEquals("a0\nb0\nc0\n", output());
    Files.createDirectories(ws.resolve("src/sub"));
    Files.writeString(ws.resolve("src/sub/d.txt"), "d0\n");
    build("built 1, cached 0");
    assertEquals("a0\nb0\nc0\nd0\n", output());
    // A file in the new directory, edited: the directory is watched now, or stat'ed.
    Files.writeString(ws.resolve("src/sub/d.txt"), "d1\n");
    build("built 1, cached 0");
    assertEquals("a0\nb0\nc0\nd1\n", output());
    Files.delete(ws.resolve("src/sub/d.txt"));
    Files.delete(ws.resolve("src/sub"));
    build("built 0, cached 1"); // back to an earlier key: restored from the cache
    assertEquals("a0\nb0\nc0\n", output());
  }

  @Test
  void aDamagedOutput_isRestored_outputsAreNeverTrusted() throws Exception {
    build("built 1, cached 0");
    Files.writeString(ws.resolve("out/all.txt"), "xx\nyy\n"); // same size, other bytes
    build("built 0, cached 1");
    assertEquals("a0\nb0\n", output());
  }

  private void build(String expected) throws Exception {
    Result r = run(List.of("build"));
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains(expected), "expected '" + expected + "' in\n" + r.all());
  }

  private String output() throws Exception {
    return Files.readString(ws.resolve("out/all.txt"));
  }

  private Result run(List<String> args) throws Exception {
    return LauncherRuns.run(LauncherRuns.launcher(ws, daemonDir, tmp, args), tmp, DEADLINE_SECONDS);
  }
}
