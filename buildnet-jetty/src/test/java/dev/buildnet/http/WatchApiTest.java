package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildnet.Watch;
import dev.buildnet.WatchListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.addon.AddOns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** {@code GET /api/watch}: the kept watch cycles, newest first, for the dashboard's Watch panel. */
class WatchApiTest {
  /** A target with inputs, so that a watch sees a changed file and rebuilds it. */
  static List<Target> watchedGraph() {
    return List.of(Target.builder("web")
        .command("sh", "-c", "mkdir -p out && cat src/*.txt > out/web.txt")
        .inputs("src/*.txt").outputs("out/web.txt").build());
  }

  static Fixture watchFixture() throws Exception {
    Fixture f = new Fixture(StateBackend.inMemory(), watchedGraph(), n -> { }, h -> h.token(Fixture.TOKEN));
    Files.createDirectories(f.workspace.resolve("src"));
    Files.writeString(f.workspace.resolve("src/a.txt"), "one");
    return f;
  }

  /** Writes {@code text} to {@code file} by rename, as editors save: one file event, one cycle. */
  static void save(Fixture f, String file, String text) throws Exception {
    Path tmp = f.workspace.resolve(".buildnet/test-save.tmp");
    Files.createDirectories(tmp.getParent());
    Files.writeString(tmp, text);
    Files.move(tmp, f.workspace.resolve(file), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  /** Hands each finished cycle (with its build's result) to the test. */
  static final class Finished implements WatchListener {
    final BlockingQueue<Cycle> cycles = new LinkedBlockingQueue<>();

    @Override
    public void cycleFinished(Cycle c, BuildResult r) {
      cycles.add(c);
    }

    /** The first finished cycle that saw {@code path} change (a watch may add cycles of its own). */
    Cycle seeing(String path) throws InterruptedException {
      Cycle c;
      do {
        c = next();
      } while (!c.changedPaths().contains(path));
      return c;
    }

    Cycle next() throws InterruptedException {
      Cycle c = cycles.poll(30, TimeUnit.SECONDS);
      if (c == null) {
        throw new AssertionError("no watch cycle finished within 30 s");
      }
      return c;
    }
  }

  @Test
  void aChangedFile_isTheNewestCycle_withItsPathTargetsAndBuild_andNeedsTheToken() throws Exception {
    try (Fixture f = watchFixture()) {
      assertEquals(401, f.send(f.request("/api/watch").GET()).statusCode());
      JsonNode none = Fixture.json(f.get("/api/watch"));
      assertEquals(0, none.get("watching").asInt());
      assertEquals(0, none.get("cycles").size());

      Finished done = new Finished();
      try (Watch w = f.net.watch(List.of("web"), done)) {
        assertEquals(1, done.next().number());
        save(f, "src/a.txt", "two");
        WatchListener.Cycle second = done.seeing("src/a.txt");
        assertEquals(List.of("src/a.txt"), second.changedPaths());

        JsonNode n = Fixture.json(f.get("/api/watch"));
        assertEquals(1, n.get("watching").asInt());
        JsonNode newest = n.get("cycles").get(0);
        assertEquals(second.number(), newest.get("cycle").asLong());
        assertEquals(second.buildId(), newest.get("build").asText());
        assertEquals("src/a.txt", newest.get("changed").get(0).asText());
        assertEquals(1, newest.get("changedCount").asInt());
        assertEquals("web", newest.get("targets").get(0).asText());
        assertFalse(newest.get("rescanned").asBoolean());
        assertTrue(newest.get("at").asText().endsWith("Z"), newest.toString());
        assertEquals(1, n.get("cycles").get(n.get("cycles").size() - 1).get("cycle").asInt());
        // The cycle's build is the one the builds API knows.
        assertEquals(200, f.get("/api/builds/" + second.buildId()).statusCode());
      }
      // Closed: no watch runs, and its cycles are still listed.
      JsonNode after = Fixture.json(f.get("/api/watch"));
      assertEquals(0, after.get("watching").asInt());
      assertTrue(after.get("cycles").size() >= 2, after.toString());
    }
  }

  @Test
  void theAnswerIsBounded_keptCyclesNewestFirst_andTwentyPathsEach() throws Exception {
    try (Fixture f = watchFixture()) {
      List<String> paths = IntStream.range(0, 25).mapToObj(i -> "src/f" + i + ".txt").toList();
      for (int i = 1; i <= 60; i++) {
        AddOns.watchCycles(f.net).record(
            new WatchListener.Cycle(i, "", paths, 1_500, List.of("web"), i % 2 == 0));
      }
      JsonNode n = Fixture.json(f.get("/api/watch"));
      JsonNode cycles = n.get("cycles");
      assertEquals(50, cycles.size());
      List<Integer> numbers = new ArrayList<>();
      cycles.forEach(c -> numbers.add(c.get("cycle").asInt()));
      assertEquals(IntStream.iterate(60, i -> i > 10, i -> i - 1).boxed().toList(), numbers);
      for (JsonNode c : cycles) {
        assertEquals(Api.WATCH_PATHS, c.get("changed").size());
        assertEquals(1_500, c.get("changedCount").asInt());
        assertEquals(c.get("cycle").asInt() % 2 == 0, c.get("rescanned").asBoolean());
      }
      assertEquals(paths.subList(0, 20).toString().replace(" ", ""),
          cycles.get(0).get("changed").toString().replace("\"", ""));
    }
  }
}
