package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The null build's shortcuts and what they must still catch. A cached target is decided with one
 * {@code lstat} per output file (its directories' link checks once per build) and, in a chain of
 * hits, on the thread that finished the one before it; a repeat null build writes nothing. Yet an
 * output deleted, edited (size and mtime put back) or swapped for a link after a null build is
 * still caught by the next one.
 */
class NullBuildTest {
  private static final int N = 12;

  @TempDir Path ws;
  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private final AtomicInteger handOffs = new AtomicInteger();
  private final CountingStateBackend state =
      new CountingStateBackend(StateBackend.inMemory(), key -> true);

  @AfterEach
  void stop() {
    pool.shutdownNow();
  }

  /** A chain t0 <- t1 <- ... each with an input and an output in {@code out/}. */
  private List<Target> chain() throws IOException {
    Files.createDirectories(ws.resolve("src"));
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      Files.writeString(ws.resolve("src/" + i + ".txt"), "input " + i);
      Target.Builder b = Target.builder("t" + i)
          .command("sh", "-c", "mkdir -p out && cp src/" + i + ".txt out/t" + i + ".txt")
          .inputs("src/" + i + ".txt")
          .outputs("out/t" + i + ".txt");
      if (i > 0) {
        b.dependsOn("t" + (i - 1));
      }
      targets.add(b.build());
    }
    return targets;
  }

  private BuildNet start() throws IOException {
    return BuildNet.builder().workspace(ws).targets(chain()).state(state)
        .executor(command -> {
          handOffs.incrementAndGet();
          pool.execute(command);
        })
        .start();
  }

  private static BuildResult build(BuildNet net) throws Exception {
    return net.build("t" + (N - 1)).get(60, TimeUnit.SECONDS);
  }

  private static TargetOutcome outcome(BuildResult r, String target) {
    return r.target(target).orElseThrow();
  }

  @Test
  void aRepeatNullBuild_writesNothing_toTheStateTheStoreOrTheOutputs() throws Exception {
    try (BuildNet net = start()) {
      assertEquals(N, build(net).count(Status.BUILT));
      assertEquals(N, build(net).count(Status.CACHED)); // records the hits (explain)
      Map<String, String> before = snapshot();
      state.writes.set(0);
      assertEquals(N, build(net).count(Status.CACHED));
      assertEquals(0, state.writes.get(), "state writes in a repeat null build");
      assertEquals(before, snapshot(), "files written, touched or replaced by a null build");
    }
  }

  /**
   * The engine reuses the last submitted graph's plan (its nodes' positions and edges) only for
   * that very graph: builds alternating between subgraphs of the same graph each get exactly their
   * own targets, in their own order.
   */
  @Test
  void buildsOfOtherSubgraphs_inTurn_eachBuildExactlyTheirOwnTargets() throws Exception {
    try (BuildNet net = start()) {
      List<String> all = new ArrayList<>();
      for (int i = 0; i < N; i++) {
        all.add("t" + i);
      }
      assertEquals(all, names(build(net)));
      assertEquals(List.of("t0", "t1", "t2"), names(net.build("t2").get(60, TimeUnit.SECONDS)));
      assertEquals(List.of("t0", "t1", "t2"), names(net.build("t2").get(60, TimeUnit.SECONDS)));
      assertEquals(all, names(build(net)));
      BuildResult t4 = net.build("t4").get(60, TimeUnit.SECONDS);
      assertEquals(List.of("t0", "t1", "t2", "t3", "t4"), names(t4));
      assertEquals(5, t4.count(Status.CACHED));
    }
  }

  private static List<String> names(BuildResult r) {
    return r.targets().stream().map(TargetOutcome::target).toList();
  }

  @Test
  void everyHit_reportsTheArtifactsTheRunProduced_asTheFilesAreNow() throws Exception {
    try (BuildNet net = start()) {
      BuildResult built = build(net);
      // The first hit reads the records, the next ones reuse what the cache remembers of them.
      for (BuildResult hit : List.of(build(net), build(net))) {
        for (int i = 0; i < N; i++) {
          TargetOutcome o = outcome(hit, "t" + i);
          assertEquals(Status.CACHED, o.status());
          assertEquals(outcome(built, "t" + i).artifacts(), o.artifacts());
          assertEquals(List.of("out/t" + i + ".txt"),
              o.artifacts().stream().map(a -> a.path()).toList());
          assertEquals(Files.size(ws.resolve("out/t" + i + ".txt")),
              o.artifacts().get(0).sizeBytes());
        }
      }
    }
  }

  @Test
  void aChainOfCacheHits_runsOnOneEngineThread_notOneHandOffPerTarget() throws Exception {
    try (BuildNet net = start()) {
      assertEquals(N, build(net).count(Status.BUILT));
      handOffs.set(0);
      assertEquals(N, build(net).count(Status.CACHED));
      // The root is handed to the executor; each hit then starts the next on its own thread.
      assertEquals(1, handOffs.get(), "executor hand-offs in a null build of a chain of " + N);
    }
  }

  @Test
  void anOutputDeletedAfterANullBuild_isRestoredByTheNext() throws Exception {
    try (BuildNet net = start()) {
      build(net);
      assertEquals(N, build(net).count(Status.CACHED));
      Files.delete(ws.resolve("out/t3.txt"));
      BuildResult r = build(net);
      assertEquals(N, r.count(Status.CACHED));
      assertEquals("restored from the cache", outcome(r, "t3").reason());
      assertEquals("input 3", Files.readString(ws.resolve("out/t3.txt")));
    }
  }

  /**
   * The hits of a repeat null build follow what each target's record kept from the last one (its
   * action-cache record, its outputs' digest-cache entries): a blob lost between two null builds
   * with the output it would restore must still make that target run, and the record it then
   * writes must be the one the next null build serves.
   */
  @Test
  void aBlobAndItsOutputLostBetweenNullBuilds_runTheTargetAgain_andTheNextBuildHitsAgain()
      throws Exception {
    try (BuildNet net = start()) {
      build(net);
      assertEquals(N, build(net).count(Status.CACHED));
      BuildResult nullBuild = build(net);
      assertEquals(N, nullBuild.count(Status.CACHED));
      dev.buildnet.api.hash.Digest blob = outcome(nullBuild, "t4").artifacts().get(0).digest();
      Path blobPath = net.blobs().root().resolve(blob.algorithm())
          .resolve(blob.hex().substring(0, 2)).resolve(blob.hex());
      Files.delete(blobPath);
      Files.delete(ws.resolve("out/t4.txt"));

      BuildResult r = build(net);
      assertEquals(Status.BUILT, outcome(r, "t4").status(), r.toString());
      assertEquals(N - 1, r.count(Status.CACHED), "its dependents' keys cover the same bytes");
      assertEquals("input 4", Files.readString(ws.resolve("out/t4.txt")));
      assertTrue(Files.isRegularFile(blobPath), "stored again");

      Files.delete(ws.resolve("out/t4.txt"));
      BuildResult again = build(net);
      assertEquals(N, again.count(Status.CACHED), again.toString());
      assertEquals("restored from the cache", outcome(again, "t4").reason());
      assertEquals("input 4", Files.readString(ws.resolve("out/t4.txt")));
    }
  }

  @Test
  void anOutputEditedWithItsSizeAndMtimePutBack_isRestoredByTheNextBuild() throws Exception {
    try (BuildNet net = start()) {
      build(net);
      assertEquals(N, build(net).count(Status.CACHED));
      Path out = ws.resolve("out/t5.txt");
      FileTime mtime = Files.getLastModifiedTime(out);
      Files.writeString(out, "INPUT 5"); // same length
      Files.setLastModifiedTime(out, mtime);
      BuildResult r = build(net);
      assertEquals(N, r.count(Status.CACHED), r.toString());
      assertEquals("input 5", Files.readString(out));
      assertEquals(0, r.count(Status.BUILT), "nothing ran: the output came from the store");
    }
  }

  @Test
  void anOutputSwappedForALinkToTheSameBytes_isRestoredAsAFile() throws Exception {
    try (BuildNet net = start()) {
      build(net);
      assertEquals(N, build(net).count(Status.CACHED));
      Path out = ws.resolve("out/t2.txt");
      Files.delete(out);
      Files.createSymbolicLink(out, Path.of("..", "src", "2.txt")); // inside, same content
      BuildResult r = build(net);
      assertEquals(N, r.count(Status.CACHED));
      assertTrue(Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS), "still a link");
      assertEquals("input 2", Files.readString(out));
    }
  }

  @Test
  void anOutputDirectorySwappedForALinkOutsideAfterANullBuild_isRefusedByTheNext()
      throws Exception {
    Path outside = Files.createDirectories(ws.getParent().resolve(ws.getFileName() + "-outside"));
    try (BuildNet net = start()) {
      build(net);
      assertEquals(N, build(net).count(Status.CACHED));
      // The same bytes, but outside the workspace: a hit must not take them as its outputs.
      try (Stream<Path> files = Files.list(ws.resolve("out"))) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.move(f, outside.resolve(f.getFileName()));
        }
      }
      Files.delete(ws.resolve("out"));
      Files.createSymbolicLink(ws.resolve("out"), outside);
      TargetOutcome t0 = outcome(build(net), "t0");
      assertEquals(Status.FAILED, t0.status(), t0.toString());
      assertTrue(t0.reason().contains("'out' is a symbolic link")
          && t0.reason().contains("leads outside the workspace"), t0.reason());
      assertEquals("input 0", Files.readString(outside.resolve("t0.txt")), "changed outside");
    } finally {
      try (Stream<Path> files = Files.list(outside)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.delete(f);
        }
      }
      Files.delete(outside);
    }
  }

  /**
   * Every file in the workspace, {@code .buildnet/} included, with what a write would change:
   * size, modification and change time, inode. Two files are left out, each written at most once
   * per build, never per target: the file state ({@code .buildnet/filestate}), saved when a file
   * first becomes old enough to be remembered (the racy rule), which depends on when the build
   * runs rather than on whether anything changed; and the workspace lock ({@code .buildnet/lock}),
   * into which each build that takes it writes who holds it and since when.
   */
  private Map<String, String> snapshot() throws IOException {
    Map<String, String> all = new TreeMap<>();
    try (Stream<Path> files = Files.walk(ws)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String rel = ws.relativize(p).toString();
        // The file state may be saved again (a racy entry re-recorded once its tick has passed);
        // replacing it touches .buildnet's own times. A file added or removed there still shows.
        if (rel.equals(".buildnet") || rel.equals(".buildnet/lock")
            || rel.equals(".buildnet/filestate") || rel.startsWith(".buildnet/filestate.")) {
          continue;
        }
        Map<String, Object> a = Files.readAttributes(p, "unix:size,lastModifiedTime,ctime,ino",
            LinkOption.NOFOLLOW_LINKS);
        all.put(rel, a.get("size") + " " + a.get("lastModifiedTime") + " " + a.get("ctime") + " "
            + a.get("ino"));
      }
    }
    return all;
  }
}
