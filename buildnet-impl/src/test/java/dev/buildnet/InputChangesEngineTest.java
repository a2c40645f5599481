package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A null build after a change to the input set (a file added to a globbed directory, deleted,
 * a directory renamed, a file swapped for a link) re-runs exactly the target whose inputs changed,
 * though every target's inputs are remembered from the build before (InputMemo). The file state's
 * clock is an hour ahead, so nothing the test wrote is racy and every memo is in use. Keep going:
 * a target failing does not stop the others, which must all still be cached.
 */
class InputChangesEngineTest {
  @TempDir Path ws;
  @TempDir Path outside;
  private BuildNet net;

  @BeforeEach
  void start() throws Exception {
    write("src/add/deep/a.txt");
    write("src/del/a.txt");
    write("src/del/b.txt");
    write("src/ren/sub/a.txt");
    write("src/link/a.txt");
    write("src/plain/a.txt");
    write("src/quiet/a.txt");
    net = BuildNet.builder().workspace(ws).state(StateBackend.inMemory()).keepGoing(true)
        .fileClock(Clock.offset(Clock.systemUTC(), Duration.ofHours(1)))
        .targets(List.of(
            target("add", "src/add/**/*.txt"),
            target("del", "src/del/*.txt"),
            target("ren", "src/ren/**"),
            target("link", "src/link/*.txt"),
            target("plain", "src/plain/a.txt"),
            target("quiet", "src/quiet/*.txt", "src/quiet/a.txt")))
        .start();
    assertEquals(Map.of("add", Status.BUILT, "del", Status.BUILT, "ren", Status.BUILT,
        "link", Status.BUILT, "plain", Status.BUILT, "quiet", Status.BUILT), Outcomes.statuses(build()));
    assertEquals(Map.of(), notCached(build()));
  }

  @AfterEach
  void stop() {
    net.close();
  }

  private static Target target(String name, String... inputs) {
    return Target.builder(name)
        .command("sh", "-c", "mkdir -p out && echo " + name + " > out/" + name + ".txt")
        .inputs(inputs).outputs("out/" + name + ".txt").build();
  }

  private void write(String path) throws IOException {
    Files.createDirectories(ws.resolve(path).getParent());
    Files.writeString(ws.resolve(path), path);
  }

  private BuildResult build() throws Exception {
    return net.buildAll().get(60, TimeUnit.SECONDS);
  }

  private static Map<String, Status> notCached(BuildResult r) {
    Map<String, Status> ran = Outcomes.statuses(r);
    ran.values().removeIf(s -> s == Status.CACHED);
    return ran;
  }

  @Test
  void aFileAddedToAGlobbedDirectory_rebuildsOnlyItsTarget() throws Exception {
    write("src/add/deep/new.txt");
    assertEquals(Map.of("add", Status.BUILT), notCached(build()));
    assertEquals(Map.of(), notCached(build()));
  }

  @Test
  void aFileDeletedFromAGlobbedDirectory_rebuildsOnlyItsTarget() throws Exception {
    Files.delete(ws.resolve("src/del/b.txt"));
    assertEquals(Map.of("del", Status.BUILT), notCached(build()));
    assertEquals(Map.of(), notCached(build()));
  }

  @Test
  void aDirectoryRenamedBelowAGlob_rebuildsOnlyItsTarget() throws Exception {
    Files.move(ws.resolve("src/ren/sub"), ws.resolve("src/ren/moved"));
    assertEquals(Map.of("ren", Status.BUILT), notCached(build()));
    assertEquals(Map.of(), notCached(build()));
  }

  @Test
  void aGlobbedFileSwappedForALinkOutside_rebuildsOnlyItsTarget_withoutIt() throws Exception {
    Path elsewhere = Files.writeString(outside.resolve("a.txt"), "src/link/a.txt");
    Files.delete(ws.resolve("src/link/a.txt"));
    Files.createSymbolicLink(ws.resolve("src/link/a.txt"), elsewhere);
    BuildResult r = build();
    assertEquals(Map.of("link", Status.BUILT), notCached(r));
    assertEquals(Map.of(), notCached(build()));
  }

  @Test
  void aPlainInputSwappedForALinkOutside_failsOnlyItsTarget() throws Exception {
    Path elsewhere = Files.writeString(outside.resolve("a.txt"), "src/plain/a.txt");
    Files.delete(ws.resolve("src/plain/a.txt"));
    Files.createSymbolicLink(ws.resolve("src/plain/a.txt"), elsewhere);
    assertEquals(Map.of("plain", Status.FAILED), notCached(build()));
    assertEquals(Map.of("plain", Status.FAILED), notCached(build()));
  }

  @Test
  void aPlainInputDeleted_failsOnlyItsTarget_andRestoredIsCachedAgain() throws Exception {
    Files.delete(ws.resolve("src/plain/a.txt"));
    assertEquals(Map.of("plain", Status.FAILED), notCached(build()));
    write("src/plain/a.txt");
    assertEquals(Map.of(), notCached(build()));
  }
}
