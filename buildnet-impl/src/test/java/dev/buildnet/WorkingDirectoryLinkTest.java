package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target's {@code cwd} reached through a symbolic link that leads outside the workspace: the
 * command once ran (and wrote) outside it, though declared outputs may not lead there. It now
 * fails without running, naming the directory; a link that stays inside is followed as before.
 */
class WorkingDirectoryLinkTest {
  @TempDir Path tmp;

  private TargetOutcome build(Path ws) throws Exception {
    Target t = Target.builder("t").workingDirectory("web")
        .command("sh", "-c", "printf ran > ran.txt").cacheable(false).build();
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(List.of(t))
        .state(StateBackend.inMemory()).start()) {
      return net.build("t").result().get(60, TimeUnit.SECONDS).target("t").orElseThrow();
    }
  }

  @Test
  void aWorkingDirectoryLinkedOutsideTheWorkspace_failsTheTargetWithoutRunningIt() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("ws"));
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Files.createSymbolicLink(ws.resolve("web"), Path.of("..", "outside"));

    TargetOutcome o = build(ws);

    assertEquals(Status.FAILED, o.status(), o.toString());
    assertTrue(o.reason().contains("working directory 'web' leads outside the workspace"),
        o.reason());
    assertFalse(Files.exists(outside.resolve("ran.txt")), "the command ran outside the workspace");
  }

  @Test
  void aWorkingDirectoryLinkedInsideTheWorkspace_runsThere() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("ws"));
    Files.createDirectories(ws.resolve("real-web"));
    Files.createSymbolicLink(ws.resolve("web"), Path.of("real-web"));

    TargetOutcome o = build(ws);

    assertEquals(Status.BUILT, o.status(), o.toString());
    assertEquals("ran", Files.readString(ws.resolve("real-web/ran.txt")));
  }
}
