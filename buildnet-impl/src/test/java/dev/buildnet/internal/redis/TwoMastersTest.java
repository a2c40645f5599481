package dev.buildnet.internal.redis;

import dev.buildnet.tck.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.internal.state.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two master JVMs, each with its own workspace, sharing state, blobs and build-once leases on one
 * real {@code redis-server}. Executions are counted with the runs files every command appends to.
 */
class TwoMastersTest {
  private static final int TARGETS = MasterMain.GENERATED + 2;
  static RedisServer server;

  @TempDir Path dir;
  private final String prefix = "two-" + UUID.randomUUID() + ":";

  @BeforeAll
  static void startRedis() throws IOException {
    server = RedisServer.start();
  }

  @AfterAll
  static void stopRedis() throws InterruptedException {
    if (server != null) {
      server.stop();
    }
  }

  @Test
  void secondMaster_buildsTheGraphWithNothingExecutedAndIdenticalOutputs() throws Exception {
    Path runs = runsDir();
    Files.createFile(runs.resolve("go"));
    try (ChildJvm a = master("a", runs, 5000)) {
      assertEquals("RESULT true " + TARGETS + " 0", a.nextLine(60), a.diagnostics());
    }
    try (ChildJvm b = master("b", runs, 5000)) {
      assertEquals("RESULT true 0 " + TARGETS, b.nextLine(60), b.diagnostics());
    }
    assertEveryTargetRanOnce(runs);
    assertSameOutputs(dir.resolve("a"), dir.resolve("b"));
  }

  @Test
  void bothAtOnce_everyTargetRunsExactlyOnce() throws Exception {
    Path runs = runsDir();
    try (ChildJvm a = master("a", runs, 5000); ChildJvm b = master("b", runs, 5000)) {
      // Hold "slow" until one of them runs it, so the two builds surely overlap.
      awaitFile(runs.resolve("slow.runs"), a, b);
      Files.createFile(runs.resolve("go"));
      String ra = a.nextLine(60);
      String rb = b.nextLine(60);
      assertTrue(ra.startsWith("RESULT true "), ra + a.diagnostics());
      assertTrue(rb.startsWith("RESULT true "), rb + b.diagnostics());
      int builtA = Integer.parseInt(ra.split(" ")[2]);
      int builtB = Integer.parseInt(rb.split(" ")[2]);
      assertEquals(TARGETS, builtA + builtB, ra + " / " + rb);
    }
    assertEveryTargetRanOnce(runs);
    assertSameOutputs(dir.resolve("a"), dir.resolve("b"));
  }

  @Test
  void killedLockHolder_theOtherMasterCompletesTheTargetAfterTheLease() throws Exception {
    Path runs = runsDir();
    long lease = 1500;
    try (ChildJvm a = master("a", runs, lease)) {
      awaitFile(runs.resolve("slow.runs"), a);
      try (ChildJvm b = master("b", runs, lease)) {
        // b finds slow leased to a and waits; a dies without releasing it.
        a.kill();
        long killedAt = System.currentTimeMillis() * 1_000_000;
        Files.createFile(runs.resolve("go"));
        String rb = b.nextLine(60);
        assertTrue(rb.startsWith("RESULT true "), rb + b.diagnostics());
        List<String> slowRuns = Files.readAllLines(runs.resolve("slow.runs"));
        assertEquals(2, slowRuns.size(), "a's run and b's: " + slowRuns);
        assertTrue(Long.parseLong(slowRuns.get(1)) >= killedAt,
            "b ran slow only after a was killed: " + slowRuns + " killed at " + killedAt);
      }
    }
    assertEquals("slow\n", Files.readString(dir.resolve("b/out/slow.txt")));
  }

  private ChildJvm master(String name, Path runs, long leaseMillis) throws IOException {
    Path ws = Files.createDirectories(dir.resolve(name));
    return ChildJvm.start(dir, MasterMain.class, Integer.toString(server.port()), prefix,
        ws.toString(), runs.toString(), Long.toString(leaseMillis));
  }

  private Path runsDir() throws IOException {
    return Files.createDirectories(dir.resolve("runs"));
  }

  /** Waits (bounded) until a command has created {@code file}; fails early if a child exits. */
  private static void awaitFile(Path file, ChildJvm... children) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(file)) {
      if (System.nanoTime() > deadline) {
        StringBuilder why = new StringBuilder("no " + file + " within 60 s");
        for (ChildJvm c : children) {
          why.append('\n').append(c.diagnostics());
        }
        throw new AssertionError(why);
      }
      TimeUnit.MILLISECONDS.sleep(20); // polling a file another process writes
    }
  }

  private static void assertEveryTargetRanOnce(Path runs) throws IOException {
    try (Stream<Path> files = Files.list(runs)) {
      List<Path> logs = files.filter(p -> p.toString().endsWith(".runs")).sorted().toList();
      assertEquals(TARGETS, logs.size(), "targets that ran: " + logs);
      for (Path log : logs) {
        assertEquals(1, Files.readAllLines(log).size(), log.getFileName() + " ran more than once");
      }
    }
  }

  private static void assertSameOutputs(Path a, Path b) throws IOException {
    assertEquals(Files.readString(a.resolve("all.txt")), Files.readString(b.resolve("all.txt")));
    for (int i = 0; i < MasterMain.GENERATED; i++) {
      assertEquals("SOURCE " + i + "\n", Files.readString(b.resolve("out/" + i + ".txt")));
    }
    assertTrue(Files.readString(b.resolve("all.txt")).contains("slow\n"));
  }
}
