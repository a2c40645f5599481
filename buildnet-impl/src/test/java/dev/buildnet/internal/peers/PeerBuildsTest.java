package dev.buildnet.internal.peers;

import dev.buildnet.internal.addon.AddOns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.Target;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerBuildsTest {
  /** A clock the test moves by hand. */
  static final class ManualClock extends Clock {
    Instant now = Instant.parse("2025-01-01T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final ManualClock clock = new ManualClock();
  private final PeerBuilds peers = new PeerBuilds(clock, 2, Duration.ofMinutes(1));

  private static PeerEvents.Event event(String master, BuildEvent.Kind kind, String build,
      String target, String status, List<String> targets) {
    Instant at = Instant.ofEpochMilli(1_000);
    String spelled = status == null ? null : status.toLowerCase(java.util.Locale.ROOT);
    BuildEvent e = switch (kind) {
      case BUILD_STARTED -> new BuildEvent.BuildStarted(build, at, targets);
      case TARGET_STARTED -> new BuildEvent.TargetStarted(build, at, target, 1, null);
      case TARGET_FINISHED -> new BuildEvent.TargetFinished(build, at, target,
          TargetOutcome.Status.ofWireName(spelled), null);
      case BUILD_FINISHED -> new BuildEvent.BuildFinished(build, at,
          BuildStatus.ofWireName(spelled), null);
      default -> throw new IllegalArgumentException(kind.toString());
    };
    return new PeerEvents.Event(master, e);
  }

  private void fullBuild(String master, String build, String targetStatus) {
    peers.record(event(master, BuildEvent.Kind.BUILD_STARTED, build, null, null, List.of("t")));
    peers.record(event(master, BuildEvent.Kind.TARGET_STARTED, build, "t", null, List.of()));
    peers.record(event(master, BuildEvent.Kind.TARGET_FINISHED, build, "t", targetStatus,
        List.of("")));
    peers.record(event(master, BuildEvent.Kind.BUILD_FINISHED, build, null,
        targetStatus.equals("BUILT") ? "SUCCEEDED"
            : targetStatus.equals("CANCELLED") ? "CANCELLED" : "FAILED", List.of()));
  }

  @Test
  void record_keepsTheNewestBuildsPerPeer_newestFirst() {
    fullBuild("a", "b1", "BUILT");
    fullBuild("a", "b2", "FAILED");
    fullBuild("a", "b3", "CANCELLED");
    List<PeerBuilds.Build> builds = peers.peer("a").orElseThrow().builds();
    assertEquals(List.of("b3", "b2"), builds.stream().map(PeerBuilds.Build::id).toList());
    assertEquals(List.of("cancelled", "failed"),
        builds.stream().map(PeerBuilds.Build::status).toList());
  }

  @Test
  void runningBuild_showsPendingAndRunningTargets() {
    peers.record(event("a", BuildEvent.Kind.BUILD_STARTED, "b1", null, null, List.of("x", "y")));
    peers.record(event("a", BuildEvent.Kind.TARGET_STARTED, "b1", "x", null, List.of()));
    PeerBuilds.Build b = peers.peer("a").orElseThrow().builds().get(0);
    assertEquals("running", b.status());
    assertEquals(Map.of("x", "running", "y", "pending"), b.targets());
    assertEquals(0, b.completed());
    assertEquals(null, b.finishedAt());
  }

  @Test
  void buildHeardOfMidway_showsTheTargetsSeenSince() {
    peers.record(event("a", BuildEvent.Kind.TARGET_FINISHED, "b1", "y", "CACHED", List.of("")));
    PeerBuilds.Build b = peers.peer("a").orElseThrow().builds().get(0);
    assertEquals(Map.of("y", "cached"), b.targets());
    assertEquals("running", b.status());
  }

  @Test
  void silentPeer_isForgottenAfterTheWindow_activeOneKept() {
    fullBuild("a", "b1", "BUILT");
    clock.now = clock.now.plusSeconds(45);
    fullBuild("b", "b1", "BUILT");
    assertEquals(List.of("a", "b"), peers.peers().stream().map(PeerBuilds.Peer::master).toList());
    clock.now = clock.now.plusSeconds(30);
    assertEquals(List.of("b"), peers.peers().stream().map(PeerBuilds.Peer::master).toList());
    assertEquals(clock.now.minusSeconds(30), peers.peer("b").orElseThrow().lastSeen());
  }

  @Test
  void peers_areCappedDroppingTheLeastRecentlyHeard() {
    for (int i = 0; i <= PeerBuilds.MAX_PEERS; i++) {
      clock.now = clock.now.plusMillis(1);
      fullBuild("m" + i, "b", "BUILT");
    }
    assertEquals(PeerBuilds.MAX_PEERS, peers.peers().size());
    assertTrue(peers.peer("m0").isEmpty());
    assertTrue(peers.peer("m" + PeerBuilds.MAX_PEERS).isPresent());
  }

  @Test
  void subscribe_deliversAfterTheViewIsUpdated_untilClosed() {
    List<String> seen = new ArrayList<>();
    PeerBuilds.Subscription sub = peers.subscribe(e ->
        seen.add(e.event().kind() + " " + peers.peer(e.master()).orElseThrow().builds().get(0).status()));
    fullBuild("a", "b1", "BUILT");
    sub.close();
    sub.close();
    fullBuild("a", "b2", "BUILT");
    assertEquals(List.of("BUILD_STARTED running", "TARGET_STARTED running",
        "TARGET_FINISHED running", "BUILD_FINISHED succeeded"), seen);
  }

  @Test
  void constructor_rejectsBadBounds() {
    assertThrows(IllegalArgumentException.class, () -> new PeerBuilds(clock, 0, Duration.ofMinutes(1)));
    assertThrows(IllegalArgumentException.class, () -> new PeerBuilds(clock, 1, Duration.ZERO));
  }

  @Test
  void peerEventsWithoutState_failsFast(@TempDir Path ws) {
    BuildNet.Builder b = BuildNet.builder().workspace(ws)
        .targets(List.of(Target.builder("t").command("true").build())).peerEvents("a");
    IllegalStateException e = assertThrows(IllegalStateException.class, b::start);
    assertTrue(e.getMessage().contains("state(...)"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> BuildNet.builder().peerEvents("a").peerEvents("b"));
    assertThrows(IllegalArgumentException.class, () -> BuildNet.builder().peerEvents(" "));
  }

  @Test
  void withoutPeerEvents_peersIsEmpty(@TempDir Path ws) {
    try (BuildNet net = BuildNet.builder().workspace(ws)
        .targets(List.of(Target.builder("t").command("true").build())).start()) {
      assertTrue(AddOns.peers(net).isEmpty());
    }
  }
}
