package dev.buildnet.internal.engine;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.BuildNet;
import dev.buildnet.api.NotStartedException;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.Target;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests for two builds of one workspace poisoning the cache: two BuildNet instances in
 * one JVM take turns through the workspace lock (the cross-process case is BuildLockCliTest in the
 * examples module).
 */
class WorkspaceLockTest {
  private static final long WAIT = 60;
  private static final String PID = Long.toString(ProcessHandle.current().pid());

  @TempDir Path ws;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    Files.writeString(ws.resolve("release"), ""); // never leave a blocked command behind
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** A target that says it started (the file {@code started}) and ends once {@code release} exists. */
  private static List<Target> blocking() {
    return List.of(Target.builder("t0")
        .command("sh", "-c", "touch started; while [ ! -e release ]; do sleep 0.02; done;"
            + " head -c 20021 /dev/zero > out/t0.txt")
        .outputs("out/t0.txt").build());
  }

  private BuildNet start(BuildNet.Builder b) {
    BuildNet net = b.workspace(ws).targets(blocking()).start();
    open.add(net);
    return net;
  }

  private void awaitStarted() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!Files.exists(ws.resolve("started"))) {
      assertTrue(System.nanoTime() < deadline, "the first build's command never started");
      Thread.sleep(10); // polling a condition with a bound: the command is another process
    }
  }

  @Test
  void aSecondInstanceWaitsForTheFirstBuildSayingSoOnce() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    BuildNet first = start(BuildNet.builder());
    BlockingQueue<String> notices = new LinkedBlockingQueue<>();
    List<String> secondStarted = new CopyOnWriteArrayList<>();
    BuildNet second = start(BuildNet.builder().onWorkspaceLockWait(notices::add)
        .listener(new BuildListener() {
          @Override
          public void targetStarted(String buildId, String target, int attempt) {
            secondStarted.add(target);
          }
        }));
    CompletableFuture<BuildResult> a = first.build("t0").result();
    awaitStarted();
    CompletableFuture<BuildResult> b =
        CompletableFuture.supplyAsync(() -> second.build("t0").result().join());
    String notice = notices.poll(WAIT, TimeUnit.SECONDS);
    assertTrue(notice != null && notice.matches("waiting for the build of process " + PID
        + " \\(started \\d\\d:\\d\\d:\\d\\d\\) to finish"), String.valueOf(notice));
    assertTrue(secondStarted.isEmpty(), "the second build ran while the first held the lock");
    assertFalse(b.isDone());

    Files.writeString(ws.resolve("release"), "");
    BuildResult ra = a.get(WAIT, TimeUnit.SECONDS);
    BuildResult rb = b.get(WAIT, TimeUnit.SECONDS);
    assertTrue(ra.success(), ra.toString());
    assertTrue(rb.success(), rb.toString());
    assertEquals(Status.CACHED, rb.target("t0").orElseThrow().status(),
        "the second build finds the first one's result");
    assertEquals(20021, Files.size(ws.resolve("out/t0.txt")));
    assertTrue(notices.isEmpty(), "the wait was announced more than once: " + notices);
  }

  @Test
  void withoutWaitingASecondInstanceFailsAtOnceNamingTheHolder() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    BuildNet first = start(BuildNet.builder());
    BuildNet second = start(BuildNet.builder().waitForWorkspaceLock(false));
    CompletableFuture<BuildResult> a = first.build("t0").result();
    awaitStarted();
    NotStartedException e =
        assertThrows(NotStartedException.class, () -> second.build("t0"));
    assertEquals(NotStartedException.Reason.WORKSPACE_LOCKED, e.reason());
    assertTrue(e.getMessage().contains("the build of process " + PID + " (started "),
        e.getMessage());
    Files.writeString(ws.resolve("release"), "");
    assertTrue(a.get(WAIT, TimeUnit.SECONDS).success());
    // Held per build: once it ended the other instance builds without waiting.
    assertTrue(second.build("t0").result().get(WAIT, TimeUnit.SECONDS).success());
  }

  @Test
  void aRunningMasterOwnsTheWorkspaceAndABuildNamesItsAddress() throws Exception {
    BuildNet master = start(BuildNet.builder().listen(new InetSocketAddress("127.0.0.1", 0))
        .transport(TransportSettings.ofSecret("a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8))));
    InetSocketAddress at = AddOns.master(master).orElseThrow().localAddress();
    BuildNet cli = start(BuildNet.builder()); // waits by default, but not for a master
    NotStartedException e = assertThrows(NotStartedException.class, () -> cli.build("t0"));
    assertEquals(NotStartedException.Reason.WORKSPACE_LOCKED, e.reason());
    assertTrue(e.getMessage().contains("master of process " + PID + " listening on "
        + at.getHostString() + ":" + at.getPort()), e.getMessage());
    master.close();
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("release"), "");
    assertTrue(cli.build("t0").result().get(WAIT, TimeUnit.SECONDS).success(),
        "a closed master lets the workspace go");
  }

  @Test
  void closingAWaitingInstanceEndsItsWait() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    BuildNet first = start(BuildNet.builder());
    CountDownLatch waiting = new CountDownLatch(1);
    BuildNet second = start(BuildNet.builder().onWorkspaceLockWait(m -> waiting.countDown()));
    first.build("t0");
    awaitStarted();
    CompletableFuture<Void> b = CompletableFuture.runAsync(() -> second.build("t0"));
    assertTrue(waiting.await(WAIT, TimeUnit.SECONDS));
    second.close();
    Throwable t = assertThrows(java.util.concurrent.ExecutionException.class,
        () -> b.get(WAIT, TimeUnit.SECONDS)).getCause();
    assertTrue(t instanceof IllegalStateException && t.getMessage().contains("closed"),
        String.valueOf(t));
  }
}
