package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Concurrent builds share the slots: a second build does not wait for the first to drain. */
class FairnessTest {
  @TempDir Path ws;

  @Test
  void twoBuildsOfEqualPriorityTakeTurnsOnOneSlot() throws Exception {
    List<Target> targets = new ArrayList<>();
    for (String build : List.of("a", "b")) {
      for (int i = 1; i <= 4; i++) {
        String name = build + i;
        targets.add(Target.builder(name)
            .command("sh", "-c", "sleep 0.2; echo " + name + " >> ../order.txt")
            .workingDirectory("w").cacheable(false).build());
      }
    }
    Files.createDirectories(ws.resolve("w"));
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets).localSlots(1).start()) {
      BuildFuture a = net.build("a1", "a2", "a3", "a4");
      BuildFuture b = net.build("b1", "b2", "b3", "b4");
      BuildResult ra = a.get(60, TimeUnit.SECONDS);
      BuildResult rb = b.get(60, TimeUnit.SECONDS);
      assertTrue(ra.success() && rb.success());
      DispatchStats stats = net.dispatchStats();
      assertEquals(8, stats.samples());
      assertEquals(0, stats.queued());
      assertEquals(0, stats.running());
      assertTrue(stats.p99().compareTo(stats.p50()) >= 0 && stats.max().compareTo(stats.p99()) >= 0);
    }
    List<String> order = Files.readAllLines(ws.resolve("order.txt"));
    assertTrue(order.indexOf("b1") < order.indexOf("a3"), "b waited for a to drain: " + order);
    assertTrue(order.indexOf("b2") < order.indexOf("a4"), "b waited for a to drain: " + order);
  }

  @Test
  void aBuildCanBeCancelledByItsIdAndTheQueueShowsWhatWaits() throws Exception {
    List<Target> targets = List.of(
        Target.builder("hang").command("sleep", "30").cacheable(false).build(),
        Target.builder("next").command("true").cacheable(false).build());
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets).localSlots(1).start()) {
      BuildFuture f = net.build("hang", "next");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (net.dispatchStats().running() == 0 || net.dispatchStats().queued() == 0) {
        assertTrue(System.nanoTime() < deadline, "never saw one running and one queued");
        Thread.sleep(5); // polling the scheduler's figures with a bound
      }
      assertFalse(net.cancel("no-such-build"));
      assertTrue(net.cancel(f.buildId()));
      BuildResult r = f.result().get(30, TimeUnit.SECONDS);
      assertFalse(r.success());
      assertTrue(r.targets().stream().allMatch(t -> t.status() == TargetOutcome.Status.CANCELLED),
          r.toString());
    }
  }
}
