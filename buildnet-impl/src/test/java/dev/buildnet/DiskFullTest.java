package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateException;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.state.SqliteStateBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk on a real, small tmpfs ({@link SmallDisk}): writes fail saying which disk is full and
 * how much room is left, and the very same backend, blob store and BuildNet work again once space
 * is freed, without a restart. {@code SqliteStateBackendFullTest} covers the SQLite part with an
 * injected SQLITE_FULL, no mount needed.
 */
class DiskFullTest {
  private static final Pattern FULL = Pattern.compile("the disk holding (\\S+) is full: \\d+ bytes free");

  @TempDir Path dir;

  private static void assertSaysFull(String message, Path expectedDir) {
    Matcher m = FULL.matcher(message);
    assertTrue(m.find(), "no 'the disk holding ... is full: N bytes free' in: " + message);
    assertTrue(Path.of(m.group(1)).startsWith(expectedDir), message);
    assertFalse(message.contains("\n"), "one line: " + message);
    assertFalse(message.contains("statement is not executing"), message);
  }

  @Test
  void sqliteState_onAFullDisk_failsSayingSo_andTheSameInstanceWritesOnceSpaceIsFreed()
      throws Exception {
    try (SmallDisk disk = SmallDisk.mount(dir.resolve("disk"), "2m")) {
      try (SqliteStateBackend state = SqliteStateBackend.open(disk.dir().resolve("state.db"))) {
        state.setString("before", "kept");
        disk.fill();
        byte[] value = new byte[4000];
        StateException failed = null;
        // Bounded: the log may have a few free frames left before it must grow.
        for (int i = 0; i < 10_000 && failed == null; i++) {
          try {
            state.set("k" + i, value);
          } catch (StateException e) {
            failed = e;
          }
        }
        assertNotNull(failed, "no write failed on a full disk");
        assertSaysFull(failed.getMessage(), disk.dir());
        assertSaysFull(state.writeFailure().orElseThrow(), disk.dir());
        StateException again = assertThrows(StateException.class, () -> state.increment("n", 1));
        assertSaysFull(again.getMessage(), disk.dir());
        assertEquals("kept", state.getString("before").orElseThrow());

        disk.free();
        state.set("after", value);
        assertEquals(1, state.increment("n", 1));
        assertEquals(Optional.empty(), state.writeFailure());
        assertArrayEquals(value, state.get("after").orElseThrow());
      }
    } // unmounting fails if the backend left a file open
  }

  @Test
  void blobStore_onAFullDisk_failsSayingSo_leavesNoTempFile_andStoresOnceSpaceIsFreed()
      throws Exception {
    try (SmallDisk disk = SmallDisk.mount(dir.resolve("disk"), "2m")) {
      Path cas = disk.dir().resolve("cas");
      DiskBlobStore blobs = new DiskBlobStore(cas, Hashing.xxh64(), Clock.systemUTC());
      blobs.putBytes("warm".getBytes(StandardCharsets.UTF_8)); // creates tmp/ and a shard
      byte[] data = new byte[256 * 1024];
      new Random(7).nextBytes(data);
      disk.fill();

      IOException e = assertThrows(IOException.class, () -> blobs.putBytes(data));
      assertSaysFull(e.getMessage(), cas);
      assertTrue(e.getMessage().startsWith("cannot store a blob in " + cas), e.getMessage());
      assertSaysFull(blobs.writeFailure().orElseThrow(), cas);
      try (Stream<Path> temp = Files.list(cas.resolve("tmp"))) {
        assertEquals(List.of(), temp.toList(), "a failed write leaves no temp file");
      }
      assertFalse(blobs.probeWrite());

      disk.free();
      assertTrue(blobs.probeWrite());
      assertEquals(Optional.empty(), blobs.writeFailure());
      assertArrayEquals(data, blobs.readVerified(blobs.putBytes(data)).orElseThrow());
    }
  }

  @Test
  void buildNet_onAFullDisk_failsTheBuildWithOneLine_andBuildsAgainOnceSpaceIsFreed()
      throws Exception {
    Path ws = dir.resolve("ws");
    Files.createDirectories(ws);
    List<Target> targets = Stream.of("one", "two", "three")
        .map(name -> Target.builder(name)
            .command("sh", "-c", "head -c 300000 /dev/urandom > " + name + ".bin")
            .outputs(name + ".bin").build())
        .toList();
    // Only .buildnet (state and blobs) is on the small disk: the commands themselves can write.
    try (SmallDisk disk = SmallDisk.mount(ws.resolve(".buildnet"), "4m")) {
      try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets).localSlots(1).start()) {
        assertEquals(Optional.empty(), net.writeFailure());
        disk.fill();

        String log;
        BuildResult failed;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
          failed = net.build(List.of("one", "two", "three"), true).join();
        } finally {
          System.setErr(err);
          log = captured.toString(StandardCharsets.UTF_8);
        }
        err.print(log);
        assertFalse(failed.success());
        for (TargetOutcome o : failed.targets()) {
          assertEquals(Status.FAILED, o.status(), o.toString());
          assertTrue(o.reason().startsWith("BuildNet cannot write its state or cache: "), o.reason());
          assertSaysFull(o.reason(), ws.resolve(".buildnet"));
          assertFalse(o.reason().contains("Exception"), o.reason());
        }
        assertEquals(1, count(log, "BuildNet cannot write its state or cache"),
            "said once per build:\n" + log);
        assertFalse(log.contains("\tat "), "no stack trace:\n" + log);
        assertSaysFull(net.writeFailure().orElseThrow(), ws.resolve(".buildnet"));

        disk.free();
        // No build runs: writeFailure() itself starts the test write that notices the room.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (net.writeFailure().isPresent()) {
          if (System.nanoTime() > deadline) {
            fail("still failing 30 s after space was freed: " + net.writeFailure());
          }
          Thread.sleep(50);
        }
        BuildResult again = net.build(List.of("one", "two", "three"), true).join();
        assertTrue(again.success(), again.toString());
        assertEquals(3, again.count(Status.BUILT), again.toString());
        assertEquals(Optional.empty(), net.writeFailure());
        assertEquals(3, net.build(List.of("one", "two", "three"), true).join()
            .count(Status.CACHED));
      }
    }
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length())) {
      n++;
    }
    return n;
  }
}
