package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
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
    }
    List<String> order = Files.readAllLines(ws.resolve("order.txt"));
    assertTrue(order.indexOf("b1") < order.indexOf("a3"), "b waited for a to drain: " + order);
    assertTrue(order.indexOf("b2") < order.indexOf("a4"), "b waited for a to drain: " + order);
  }
}
