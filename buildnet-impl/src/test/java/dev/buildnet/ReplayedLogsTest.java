package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.addon.AddOns;
import dev.buildnet.internal.events.BuildHistory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cached target's log is read back from the cache only for listeners that use it: a history
 * told not to keep replayed lines and listeners that say they do not want them leave the log
 * unread, while any other listener, a log subscriber, or a listener changing its mind gets the
 * lines as before.
 */
class ReplayedLogsTest {
  @TempDir Path ws;
  private BuildNet net;
  private BuildHistory history;

  /** Records replayed lines, and wants them while {@code wants} is set. */
  private static final class Choosy implements BuildListener, AddOns.ReplayedLogs {
    final AtomicBoolean wants = new AtomicBoolean();
    final List<String> replayed = new CopyOnWriteArrayList<>();

    @Override
    public boolean wantsReplayedLogs() {
      return wants.get();
    }

    @Override
    public void onEvent(BuildEvent e) {
      if (e instanceof BuildEvent.TargetLog log && log.replayed()) {
        replayed.add(log.line());
      }
    }
  }

  @BeforeEach
  void builtOnce() throws Exception {
    Files.writeString(ws.resolve("in.txt"), "x");
    net = BuildNet.builder().workspace(ws).targets(List.of(Target.builder("t")
        .command("bash", "-c", "echo compiling the thing; cp in.txt out.txt")
        .envPassthrough("PATH").inputs("in.txt").outputs("out.txt").build())).start();
    history = AddOns.history(net);
    assertEquals(Status.BUILT, build().target("t").orElseThrow().status());
  }

  @AfterEach
  void close() {
    net.close();
  }

  private BuildResult build() throws Exception {
    return net.build("t").get(60, TimeUnit.SECONDS);
  }

  private List<String> kept(BuildResult r) {
    return history.log(r.buildId(), "t").stream().map(BuildHistory.LogLine::line).toList();
  }

  @Test
  void byDefault_theHistoryKeepsACachedTargetsLog() throws Exception {
    BuildResult r = build();
    assertEquals(Status.CACHED, r.target("t").orElseThrow().status());
    assertEquals(List.of("compiling the thing"), kept(r));
  }

  @Test
  void whenNoListenerWantsThem_noLineIsReplayed_andTheHitStillRestores() throws Exception {
    history.keepReplayedLogs(false);
    Choosy choosy = new Choosy();
    net.addListener(choosy);
    Files.delete(ws.resolve("out.txt"));
    BuildResult r = build();
    assertEquals(Status.CACHED, r.target("t").orElseThrow().status());
    assertEquals("x", Files.readString(ws.resolve("out.txt")));
    assertEquals(List.of(), choosy.replayed);
    assertEquals(List.of(), kept(r));

    choosy.wants.set(true); // asked per hit: the next build replays again
    BuildResult again = build();
    assertEquals(List.of("compiling the thing"), choosy.replayed);
    assertEquals(List.of("compiling the thing"), kept(again));
  }

  @Test
  void aListenerThatDoesNotSay_getsTheLinesAsAlways() throws Exception {
    history.keepReplayedLogs(false);
    net.addListener(new Choosy());
    List<String> lines = new CopyOnWriteArrayList<>();
    net.addListener(new BuildListener() {
      @Override
      public void logLine(String id, String target,
          dev.buildnet.api.exec.OutputListener.Stream s, String line, boolean replayed) {
        lines.add(line);
      }
    });
    build();
    assertEquals(List.of("compiling the thing"), lines);
  }

  @Test
  void aLogSubscriberOfTheHistory_getsTheLines() throws Exception {
    history.keepReplayedLogs(false);
    List<String> lines = new CopyOnWriteArrayList<>();
    try (BuildHistory.Subscription s = history.subscribe(null, true, false, e -> {
      if (e instanceof BuildEvent.TargetLog log) {
        lines.add(log.line());
      }
    })) {
      build();
    }
    assertEquals(List.of("compiling the thing"), lines);
    lines.clear();
    try (BuildHistory.Subscription s = history.subscribe(null, false, false, e -> {
      if (e instanceof BuildEvent.TargetLog log) {
        lines.add(log.line());
      }
    })) {
      build();
    }
    assertEquals(List.of(), lines);
  }
}
