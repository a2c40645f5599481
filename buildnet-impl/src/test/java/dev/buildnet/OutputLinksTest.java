package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.graph.Target;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests for outputs resolving outside the workspace: with {@code out -> ../outside},
 * BuildNet deleted and wrote files outside it. Every path that deletes, creates or restores an
 * output now refuses the link, naming it, and leaves the outside alone.
 */
class OutputLinksTest {
  private static final long WAIT = 60;

  @TempDir Path tmp;
  private MasterWorkers cluster;

  @BeforeEach
  void setUp() {
    cluster = new MasterWorkers(tmp, WAIT);
  }

  @AfterEach
  void closeAll() throws Exception {
    cluster.close();
  }

  private static List<Target> graph(String... requires) {
    return List.of(Target.builder("t0").command("sh", "-c", "mkdir -p out && printf built > out/t0.txt")
        .outputs("out/t0.txt").requires(requires).build());
  }

  /** A workspace whose {@code out} is a link to a sibling directory holding a precious file. */
  private Path linkedWorkspace(String name) throws Exception {
    Path ws = Files.createDirectories(tmp.resolve(name));
    Path outside = Files.createDirectories(tmp.resolve(name + "-outside"));
    Files.writeString(outside.resolve("t0.txt"), "precious");
    Files.createSymbolicLink(ws.resolve("out"), Path.of("..", name + "-outside"));
    return ws;
  }

  private BuildNet start(BuildNet.Builder b) {
    return cluster.track(b.start());
  }

  private static TargetOutcome build(BuildNet net) throws Exception {
    BuildResult r = net.build("t0").result().get(WAIT, TimeUnit.SECONDS);
    return r.target("t0").orElseThrow();
  }

  private void assertRefusedAndOutsideUntouched(TargetOutcome o, String name) throws Exception {
    assertEquals(Status.FAILED, o.status(), o.toString());
    assertTrue(o.reason().contains("'out' is a symbolic link to '../" + name + "-outside'")
        && o.reason().contains("leads outside the workspace"), o.reason());
    Path outside = tmp.resolve(name + "-outside");
    assertEquals("precious", Files.readString(outside.resolve("t0.txt")), "written or deleted outside");
    try (Stream<Path> files = Files.list(outside)) {
      assertEquals(List.of(outside.resolve("t0.txt")), files.toList(), "created outside");
    }
  }

  @Test
  void cleanOutputsRefusesToDeleteThroughALinkLeavingTheWorkspace() throws Exception {
    Path ws = linkedWorkspace("clean");
    BuildNet net = start(BuildNet.builder().workspace(ws).targets(graph()));
    BuildNetException e =
        org.junit.jupiter.api.Assertions.assertThrows(BuildNetException.class, net::cleanOutputs);
    assertTrue(e.getMessage().contains("'out' is a symbolic link to '../clean-outside'"),
        e.getMessage());
    assertEquals("precious", Files.readString(tmp.resolve("clean-outside/t0.txt")));
  }

  @Test
  void aLocalRunRefusesToClearOutputsThroughALinkLeavingTheWorkspace() throws Exception {
    Path ws = linkedWorkspace("local");
    BuildNet net = start(BuildNet.builder().workspace(ws).targets(graph()));
    assertRefusedAndOutsideUntouched(build(net), "local");
  }

  @Test
  void aCacheHitIsNeverRestoredThroughALinkLeavingTheWorkspace() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("restore"));
    Files.createDirectories(ws.resolve("out"));
    BuildNet net = start(BuildNet.builder().workspace(ws).targets(graph()));
    assertEquals(Status.BUILT, build(net).status());
    // The output directory is replaced by a link: the next build is a hit for the same key.
    Files.delete(ws.resolve("out/t0.txt"));
    Files.delete(ws.resolve("out"));
    Path outside = Files.createDirectories(tmp.resolve("restore-outside"));
    Files.writeString(outside.resolve("t0.txt"), "precious");
    Files.createSymbolicLink(ws.resolve("out"), Path.of("..", "restore-outside"));
    assertRefusedAndOutsideUntouched(build(net), "restore");
  }

  @Test
  void aRecordFromSharedStateIsNeverRestoredThroughALink() throws Exception {
    try (StateBackend shared = StateBackend.inMemory()) {
      Path a = Files.createDirectories(tmp.resolve("peer"));
      Files.createDirectories(a.resolve("out"));
      BuildNet peer = start(BuildNet.builder().workspace(a).targets(graph()).state(shared));
      assertEquals(Status.BUILT, build(peer).status());

      Path b = linkedWorkspace("shared");
      BuildNet net = start(BuildNet.builder().workspace(b).targets(graph()).state(shared));
      net.blobs().putBytes("built".getBytes(StandardCharsets.UTF_8)); // the blob is here too
      assertRefusedAndOutsideUntouched(build(net), "shared");
      peer.close();
      net.close();
    }
  }

  @Test
  void aPlantedRecordNamingAnUndeclaredPathIsNeverRestored() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("planted"));
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("keep.txt"), "mine");
    try (StateBackend shared = StateBackend.inMemory()) {
      TargetOutcome first;
      try (BuildNet net = BuildNet.builder().workspace(ws).targets(graph()).state(shared).start()) {
        first = build(net);
        assertEquals(Status.BUILT, first.status());
        // Someone who can write the shared state replaces the record for the same key.
        byte[] evil = "planted".getBytes(StandardCharsets.UTF_8);
        Digest blob = net.blobs().putBytes(evil);
        new ActionCache(shared, net.blobs()).record(Digest.parse(first.key()),
            new ActionManifest(ActionManifest.VERSION, "t0",
                List.of(new ActionManifest.Output("keep.txt", blob.toString(), evil.length, false)),
                List.of(), null, null, 0, 1, 0));
      }
      try (BuildNet net = BuildNet.builder().workspace(ws).targets(graph()).state(shared).start()) {
        TargetOutcome again = build(net);
        assertEquals(Status.BUILT, again.status(), "the planted record was taken as a hit");
      }
    }
    assertEquals("mine", Files.readString(ws.resolve("keep.txt")));
    assertEquals("built", Files.readString(ws.resolve("out/t0.txt")));
  }

  @Test
  void aRemoteResultIsNeverWrittenThroughALink() throws Exception {
    Path ws = linkedWorkspace("remote");
    BuildNet net = cluster.master(BuildNet.builder().workspace(ws).targets(graph("remote"))
        .localSlots(0));
    cluster.connect(net, BuildNet.worker().workerId("w1").cpuSlots(1).memoryMb(256)
        .capabilities(List.of("remote")).workDir(tmp.resolve("work")));
    TargetOutcome o = build(net);
    assertRefusedAndOutsideUntouched(o, "remote");
  }

  @Test
  void aLinkInsideTheWorkspaceIsFollowed() throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("inside"));
    Files.createDirectories(ws.resolve("build/out"));
    Files.createSymbolicLink(ws.resolve("out"), Path.of("build", "out"));
    BuildNet net = start(BuildNet.builder().workspace(ws).targets(graph()));
    TargetOutcome o = build(net);
    assertEquals(Status.BUILT, o.status(), o.toString());
    assertEquals("built", Files.readString(ws.resolve("build/out/t0.txt")));
  }
}
