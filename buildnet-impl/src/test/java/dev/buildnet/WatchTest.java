package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.watch.WatchSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Watch mode with real files, real inotify events and real processes. No assertion depends on
 * timing: cycles are awaited, and batches are gathered while the session is held, then released.
 */
class WatchTest {
  private static final long BOUND_SECONDS = 60; // a failure bound only
  @TempDir Path ws;

  /** Records what the watch says. */
  static final class Recorder implements WatchListener {
    final BlockingQueue<Cycle> started = new LinkedBlockingQueue<>();
    final BlockingQueue<BuildResult> finished = new LinkedBlockingQueue<>();
    final BlockingQueue<String> notices = new LinkedBlockingQueue<>();

    @Override
    public void cycleStarted(Cycle cycle) {
      started.add(cycle);
    }

    @Override
    public void cycleFinished(Cycle cycle, BuildResult result) {
      finished.add(result);
    }

    @Override
    public void notice(String message) {
      notices.add(message);
    }

    Cycle nextStarted() throws InterruptedException {
      Cycle c = started.poll(BOUND_SECONDS, TimeUnit.SECONDS);
      assertNotNull(c, "no cycle started");
      return c;
    }

    BuildResult nextFinished() throws InterruptedException {
      BuildResult r = finished.poll(BOUND_SECONDS, TimeUnit.SECONDS);
      assertNotNull(r, "no cycle finished");
      return r;
    }

    String nextNotice() throws InterruptedException {
      String n = notices.poll(BOUND_SECONDS, TimeUnit.SECONDS);
      assertNotNull(n, "no notice");
      return n;
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(10); // polling a condition with a bound
    }
  }

  /**
   * Writes a file as editors save: elsewhere, then renamed into place, so it is one event (a plain
   * write is a create and a modify, which a zero debounce may see as two cycles).
   */
  private void write(String rel, String text) throws IOException {
    Path p = ws.resolve(rel);
    Files.createDirectories(p.getParent());
    Path tmp = ws.resolve(".buildnet/test-write.tmp");
    Files.createDirectories(tmp.getParent());
    Files.writeString(tmp, text);
    Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static Target lib() {
    return Target.builder("lib")
        .command("sh", "-c", "mkdir -p out && cat src/*.txt > out/lib.txt")
        .inputs("src/**/*.txt").outputs("out/lib.txt").build();
  }

  private static Target app() {
    return Target.builder("app")
        .command("sh", "-c", "mkdir -p out && cat out/lib.txt app/*.txt > out/app.txt")
        .inputs("app/*.txt", "out/lib.txt").outputs("out/app.txt").dependsOn("lib").build();
  }

  private BuildNet start(List<Target> targets) {
    return BuildNet.builder().workspace(ws).state(StateBackend.inMemory()).localSlots(2)
        .targets(targets).start();
  }

  private void twoTargets() throws IOException {
    write("src/a.txt", "a\n");
    write("app/main.txt", "main\n");
  }

  @Test
  void theFirstCycleBuildsEverything_thenAnEditRebuildsOnlyWhatItAffects() throws Exception {
    twoTargets();
    Recorder r = new Recorder();
    try (BuildNet net = start(List.of(lib(), app()));
         Watch w = net.watch(List.of("app"), Duration.ZERO, r)) {
      WatchListener.Cycle first = r.nextStarted();
      assertEquals(1, first.number());
      assertEquals(Set.of("lib", "app"), Set.copyOf(first.targets()));
      assertEquals(Map.of("app", Status.BUILT, "lib", Status.BUILT), Outcomes.statuses(r.nextFinished()));

      write("app/main.txt", "main 2\n");
      WatchListener.Cycle second = r.nextStarted();
      assertEquals(List.of("app"), second.targets(), "lib is up to date and not looked at");
      assertEquals(List.of("app/main.txt"), second.changedPaths());
      assertEquals(Map.of("app", Status.BUILT), Outcomes.statuses(r.nextFinished()));
      assertEquals("a\nmain 2\n", Files.readString(ws.resolve("out/app.txt")));

      write("src/a.txt", "a 2\n");
      WatchListener.Cycle third = r.nextStarted();
      assertEquals(List.of("lib", "app"), third.targets(), "a dependent is rebuilt after its dependency");
      assertEquals(Map.of("app", Status.BUILT, "lib", Status.BUILT), Outcomes.statuses(r.nextFinished()));
      assertEquals("a 2\nmain 2\n", Files.readString(ws.resolve("out/app.txt")));
    }
  }

  @Test
  void aNewFileAGlobMatches_inANewDirectory_isAChange() throws Exception {
    twoTargets();
    Recorder r = new Recorder();
    try (BuildNet net = start(List.of(lib()));
         Watch w = net.watch(List.of("lib"), Duration.ZERO, r)) {
      r.nextStarted();
      r.nextFinished();
      WatchSession s = w.session();
      s.hold();
      write("src/deep/er/new.txt", "new\n");
      await(() -> s.pendingPaths().contains("src/deep/er/new.txt"), "the new file");
      s.release();
      WatchListener.Cycle c = r.nextStarted();
      assertTrue(c.changedPaths().contains("src/deep/er/new.txt"), c.toString());
      assertEquals(List.of("lib"), c.targets());
      assertEquals(Status.BUILT, Outcomes.statuses(r.nextFinished()).get("lib"));
    }
  }

  @Test
  void aFileRewrittenWithTheSameBytes_runsNothing() throws Exception {
    twoTargets();
    Recorder r = new Recorder();
    try (BuildNet net = start(List.of(lib()));
         Watch w = net.watch(List.of("lib"), Duration.ZERO, r)) {
      r.nextStarted();
      r.nextFinished();
      WatchSession s = w.session();
      s.hold();
      Path a = ws.resolve("src/a.txt");
      Files.writeString(a, "a\n");
      Files.setLastModifiedTime(a, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
      await(() -> s.pendingPaths().contains("src/a.txt"), "the touch's event");
      s.release();
      WatchListener.Cycle c = r.nextStarted();
      assertEquals(List.of(), c.targets(), "nothing to build: " + c);
      assertEquals("", c.buildId());
      assertTrue(r.finished.isEmpty());
    }
  }

  @Test
  void aThousandFilesChangedBeforeTheWatcherIsReleased_areOneRebuild() throws Exception {
    twoTargets();
    for (int i = 0; i < 1000; i++) {
      write("src/many/" + i + ".txt", i + "\n");
    }
    Recorder r = new Recorder();
    try (BuildNet net = start(List.of(lib(), app()));
         Watch w = net.watch(List.of("app"), Duration.ZERO, r)) {
      r.nextStarted();
      r.nextFinished();
      WatchSession s = w.session();
      s.hold();
      for (int i = 0; i < 1000; i++) {
        write("src/many/" + i + ".txt", i + " changed\n"); // like a git checkout
      }
      await(() -> s.pendingPaths().size() >= 1000, "1,000 events");
      s.release();
      WatchListener.Cycle c = r.nextStarted();
      assertEquals(1000, c.changedCount());
      assertEquals(List.of("lib", "app"), c.targets());
      // lib re-ran once for all 1,000; its output (cat src/*.txt) leaves out src/many, so app's
      // key is unchanged and it is cached (early cutoff).
      assertEquals(Map.of("app", Status.CACHED, "lib", Status.BUILT), Outcomes.statuses(r.nextFinished()));
      // The next change makes the next cycle: nothing else was left over from the batch.
      write("app/main.txt", "main 2\n");
      WatchListener.Cycle next = r.nextStarted();
      assertEquals(c.number() + 1, next.number());
      assertEquals(List.of("app/main.txt"), next.changedPaths());
    }
  }

  @Test
  void outputsBuildNetWritesNeverStartACycle() throws Exception {
    write("data/in.txt", "x\n");
    Target gen = Target.builder("gen")
        .command("sh", "-c", "cat data/in.txt > data/gen.txt && mkdir -p data/out && cp data/in.txt data/out/copy")
        .inputs("data/**").outputs("data/gen.txt", "data/out").build();
    Recorder r = new Recorder();
    try (BuildNet net = start(List.of(gen));
         Watch w = net.watch(List.of("gen"), Duration.ZERO, r)) {
      assertEquals(1, r.nextStarted().number());
      r.nextFinished();
      write("data/in.txt", "y\n");
      WatchListener.Cycle c = r.nextStarted();
      assertEquals(2, c.number());
      assertEquals(Status.BUILT, Outcomes.statuses(r.nextFinished()).get("gen"));
      // gen's own writes in the watched directory started nothing: the next change is cycle 3.
      write("data/marker.txt", "m\n");
      WatchListener.Cycle next = r.nextStarted();
      assertEquals(3, next.number());
      assertEquals(List.of("data/marker.txt"), next.changedPaths());
    }
  }

  @Test
  void aChangeToTheRunningBuildsInputs_cancelsIt_andTheNextCycleBuildsAgain() throws Exception {
    write("s/a.txt", "a\n");
    Target slow = Target.builder("slow")
        .command("sh", "-c", "if [ -f s/go.txt ]; then exit 0; fi; touch started.flag; exec sleep 120")
        .inputs("s/*.txt").build();
    Recorder r = new Recorder();
    try (BuildNet net = BuildNet.builder().workspace(ws).state(StateBackend.inMemory())
            .localSlots(1).targets(List.of(slow)).start();
         Watch w = net.watch(List.of("slow"), Duration.ZERO, r)) {
      r.nextStarted();
      await(() -> Files.exists(ws.resolve("started.flag")), "the first run to be sleeping");
      write("s/go.txt", "go\n");
      BuildResult cancelled = r.nextFinished();
      assertEquals(Status.CANCELLED, Outcomes.statuses(cancelled).get("slow"));
      WatchListener.Cycle again = r.nextStarted();
      assertEquals(List.of("slow"), again.targets());
      assertEquals(Status.BUILT, Outcomes.statuses(r.nextFinished()).get("slow"));
    }
  }

  @Test
  void lostEvents_rescanTheDirectory_sayItOnce_andFindTheChange() throws Exception {
    twoTargets();
    Recorder r = new Recorder();
    try (BuildNet net = start(List.of(lib()));
         Watch w = net.watch(List.of("lib"), Duration.ZERO, r)) {
      r.nextStarted();
      r.nextFinished();
      WatchSession s = w.session();
      s.watcher().dropEvents(true);
      // Saved by rename: one event, so none of it can slip through after dropping stops (a
      // write in place can make two MODIFY events, and a late one would start a cycle of its own
      // that cancels the rescan's).
      write("src/a.txt", "changed behind the watcher's back\n");
      await(() -> s.watcher().droppedEvents() > 0, "the event to be lost");
      s.watcher().dropEvents(false);
      s.simulateOverflow(ws.resolve("src"));
      String notice = r.nextNotice();
      assertTrue(notice.contains("events were lost under") && notice.contains("rescanning"), notice);
      WatchListener.Cycle c = r.nextStarted();
      assertTrue(c.rescanned());
      assertEquals(List.of("lib"), c.targets());
      assertEquals(Status.BUILT, Outcomes.statuses(r.nextFinished()).get("lib"), "the stat found the change");
      assertEquals("changed behind the watcher's back\n", Files.readString(ws.resolve("out/lib.txt")));
      s.simulateOverflow(ws.resolve("src"));
      r.nextStarted();
      assertTrue(r.notices.isEmpty(), "said once per directory: " + r.notices);
    }
  }

  @Test
  void aChangedWorkspaceFileIsReloaded_andAnInvalidOneKeepsThePreviousGraph() throws Exception {
    write("src/a.txt", "a\n");
    String valid = """
        {"version": 1, "targets": {"lib": {"command": ["sh", "-c", "mkdir -p out && cat src/a.txt > out/lib.txt"],
          "inputs": ["src/*.txt"], "outputs": ["out/lib.txt"]}}}
        """;
    write("buildnet.json", valid);
    Recorder r = new Recorder();
    try (BuildNet net = BuildNet.builder().workspace(ws).state(StateBackend.inMemory())
            .localSlots(1).start();
         Watch w = net.watch(List.of("lib"), Duration.ZERO, r)) {
      r.nextStarted();
      r.nextFinished();
      // Written elsewhere and renamed into place, as editors save.
      Path tmp = ws.resolve("buildnet.json.tmp");
      Files.writeString(tmp, "{\"version\": 1, \"targets\": {\"lib\": {\"command\": 42}}}");
      Files.move(tmp, ws.resolve("buildnet.json"), StandardCopyOption.ATOMIC_MOVE);
      String notice = r.nextNotice();
      assertTrue(notice.contains("is invalid; the previous graph keeps running"), notice);
      write("src/a.txt", "a 2\n");
      WatchListener.Cycle stillOld = r.nextStarted();
      while (stillOld.targets().isEmpty()) {
        stillOld = r.nextStarted(); // the cycle of the invalid file itself, if separate
      }
      assertEquals(List.of("lib"), stillOld.targets());
      r.nextFinished();
      assertEquals("a 2\n", Files.readString(ws.resolve("out/lib.txt")));

      Files.writeString(tmp, valid.replace("cat src/a.txt", "echo reloaded; cat src/a.txt"));
      Files.move(tmp, ws.resolve("buildnet.json"), StandardCopyOption.ATOMIC_MOVE);
      String reloaded = r.nextNotice();
      assertTrue(reloaded.contains("reloaded 1 targets"), reloaded);
      WatchListener.Cycle c = r.nextStarted();
      assertEquals(List.of("lib"), c.targets());
      assertEquals(Status.BUILT, Outcomes.statuses(r.nextFinished()).get("lib"), "the new command's key");
    }
  }

  @Test
  void closeStopsEveryWatchThread_andIsIdempotent() throws Exception {
    twoTargets();
    Recorder r = new Recorder();
    BuildNet net = start(List.of(lib()));
    Watch w = net.watch(List.of("lib"), r);
    r.nextStarted();
    r.nextFinished();
    assertTrue(w.isOpen());
    w.close();
    w.close();
    assertFalse(w.isOpen());
    assertEquals(Set.of(), watchThreads());
    Watch second = net.watch(List.of("lib"), r);
    net.close(); // closes its watches too
    assertFalse(second.isOpen());
    assertEquals(Set.of(), watchThreads());
    assertThrows(IllegalStateException.class, () -> net.watch(List.of("lib"), r));
  }

  private static Set<String> watchThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
        .map(Thread::getName).filter(n -> n.startsWith("buildnet-watch"))
        .collect(Collectors.toSet());
  }
}
