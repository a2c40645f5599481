package dev.buildnet.internal.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.hash.FileDigestCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's hot file state: trusted digests follow file events, a sync makes every event
 * queued before it count, lost events fall back to stat checks, and outputs (also inputs that are
 * another target's outputs) are never trusted. Real files and the JDK's watch service; the
 * deadlines are failure bounds only.
 */
class HotFileStateTest {
  private static final Duration SYNC = Duration.ofSeconds(60);

  @TempDir Path tmp;
  Path ws;
  FileDigestCache digests;
  BuildGraph graph;

  @BeforeEach
  void workspace() throws Exception {
    ws = tmp.toRealPath();
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "a0");
    Files.createDirectories(ws.resolve("gen"));
    Files.writeString(ws.resolve("gen/g.txt"), "g0");
    digests = new FileDigestCache(HashProvider.xxh64());
    graph = BuildGraph.of(List.of(
        Target.builder("gen").command("true").inputs("src/**").outputs("gen").build(),
        Target.builder("use").command("true").inputs("gen/**", "src/**").dependsOn("gen")
            .build()));
  }

  private HotFileState hot() throws Exception {
    return new HotFileState(ws, graph, digests, ws.resolve(".buildnet/hot"));
  }

  private Digest digest(String rel) throws Exception {
    return digests.digest(ws.resolve(rel));
  }

  private Digest of(String text) throws Exception {
    Path f = Files.createTempFile(tmp, "expected", ".txt");
    try {
      Files.writeString(f, text);
      return HashProvider.xxh64().hash(f);
    } finally {
      Files.delete(f);
    }
  }

  @Test
  void anEditBeforeASync_isSeenByTheNextDigest() throws Exception {
    try (HotFileState hot = hot()) {
      assertEquals(of("a0"), digest("src/a.txt"));
      for (int i = 1; i <= 20; i++) {
        Files.writeString(ws.resolve("src/a.txt"), "a" + (i % 10)); // same size each time
        assertTrue(hot.sync(SYNC));
        assertEquals(of("a" + (i % 10)), digest("src/a.txt"), "edit " + i);
      }
      assertTrue(hot.events() > 0);
    }
  }

  @Test
  void aNewFileInANewDirectory_isWatchedAndItsEditsSeen() throws Exception {
    try (HotFileState hot = hot()) {
      Files.createDirectories(ws.resolve("src/sub"));
      Files.writeString(ws.resolve("src/sub/b.txt"), "b0");
      assertTrue(hot.sync(SYNC));
      assertEquals(of("b0"), digest("src/sub/b.txt"));
      Files.writeString(ws.resolve("src/sub/b.txt"), "b1");
      assertTrue(hot.sync(SYNC));
      assertEquals(of("b1"), digest("src/sub/b.txt"));
    }
  }

  @Test
  void lostEvents_makeTheSyncFail_andNothingTrustedIsUsed() throws Exception {
    try (HotFileState hot = hot()) {
      assertEquals(of("a0"), digest("src/a.txt"));
      hot.watcher().dropEvents(true); // every event from now on is lost, the markers' too
      Files.writeString(ws.resolve("src/a.txt"), "a1");
      assertFalse(hot.sync(Duration.ofMillis(200)));
      assertEquals(of("a1"), digest("src/a.txt"), "checked by stat, not trusted");
    }
  }

  @Test
  void anOverflow_distrustsTheDirectory() throws Exception {
    try (HotFileState hot = hot()) {
      assertEquals(of("a0"), digest("src/a.txt"));
      hot.watcher().dropEvents(true);
      Files.writeString(ws.resolve("src/a.txt"), "a1"); // its event is lost...
      hot.watcher().dropEvents(false);
      hot.simulateOverflow(ws.resolve("src")); // ...and the OS says so
      assertTrue(hot.sync(SYNC));
      assertEquals(of("a1"), digest("src/a.txt"));
      assertEquals(1, hot.lostEvents());
    }
  }

  @Test
  void outputs_andInputsThatAreOutputs_areNeverTrusted() throws Exception {
    try (HotFileState hot = hot()) {
      assertEquals(of("g0"), digest("gen/g.txt"));
      Files.writeString(ws.resolve("gen/g.txt"), "g1"); // gen/ is not watched: no event at all
      assertTrue(hot.sync(SYNC));
      assertEquals(of("g1"), digest("gen/g.txt"));
    }
  }

  @Test
  void close_endsTheTrust() throws Exception {
    HotFileState hot = hot();
    assertEquals(of("a0"), digest("src/a.txt"));
    hot.close();
    hot.close(); // idempotent
    Files.writeString(ws.resolve("src/a.txt"), "a1");
    assertEquals(of("a1"), digest("src/a.txt"));
    assertFalse(hot.sync(SYNC));
  }
}
