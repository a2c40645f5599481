package dev.buildnet.internal.master;

import dev.buildnet.client.RemoteClient;
import dev.buildnet.client.RemoteSubscription;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.events.BuildHistory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A subscription's EVENTs beyond the master's bound are dropped, and the client sees the gap. */
class EventDropTest {
  private static final byte[] SECRET = "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);

  /** Serves only events, from a history the test writes. */
  private record HistoryOnly(BuildHistory history) implements BuildService {
    @Override
    public CompletableFuture<BuildResult> submit(String id, List<String> targets, boolean keepGoing) {
      throw new IllegalStateException("no builds here");
    }

    @Override
    public boolean cancel(String buildId) {
      return false;
    }
  }

  @Test
  void eventsBeyondTheUnsentBound_areDroppedAsASeqGap() throws Exception {
    BuildHistory history = new BuildHistory(Clock.systemUTC(), 10, 10);
    history.buildStarted("b1", List.of("t"));
    history.targetStarted("b1", "t", 1);
    TargetOutcome t = new TargetOutcome("t", TargetOutcome.Status.BUILT, "ran", null, 0, 1,
        Duration.ZERO, List.of(), List.of(), BuildMetrics.EMPTY);
    history.targetFinished("b1", t);
    history.buildFinished(new BuildResult(true, "b1", Duration.ZERO, List.of(), List.of(),
        List.of(), BuildMetrics.EMPTY, List.of(t)));
    try (StateBackend state = StateBackend.inMemory();
        // The replay's 4 events are held until the ACK is sent, so with a bound of 2 the last
        // two of them are dropped, whatever the timing.
        MasterServer master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET))
            .builds(new HistoryOnly(history)).maxUnsentEvents(2).start();
        RemoteClient client = RemoteClient.builder().address(master.localAddress())
            .transport(TransportSettings.ofSecret(SECRET)).connect()) {
      BlockingQueue<BuildEvent> got = new LinkedBlockingQueue<>();
      RemoteSubscription sub = client.subscribe(null, false, got::add);
      assertEquals(BuildEvent.Kind.BUILD_STARTED, got.poll(10, TimeUnit.SECONDS).kind());
      assertEquals(BuildEvent.Kind.TARGET_STARTED, got.poll(10, TimeUnit.SECONDS).kind());

      history.buildStarted("b2", List.of("t"));
      BuildEvent next = got.poll(10, TimeUnit.SECONDS);
      assertEquals("b2", next.buildId(), "target_finished and build_finished of b1 were dropped");
      assertEquals(2, sub.dropped());
    }
  }
}
