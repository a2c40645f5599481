package dev.buildnet.peers;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.Subscription;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Build events shared between masters over a pub/sub {@link StateBackend} (Redis), so that a
 * master, and its dashboard, can show what its peers are building.
 *
 * <pre>{@code
 * PeerEvents.Publisher pub = PeerEvents.publisher(redis, "master-a");
 * BuildNet net = BuildNet.builder().state(redis).listener(pub)...start();
 * Subscription peers = PeerEvents.subscribe(redis, "master-a", event -> dashboard.show(event));
 * }</pre>
 *
 * <p>{@code BuildNet.builder().state(redis).peerEvents("master-a")} does both and keeps the peers'
 * recent builds in {@code BuildNet.peers()} (a {@link PeerBuilds}).
 *
 * <p>Events are build and target starts and ends (not log lines), as small JSON documents on the
 * channel {@value #CHANNEL}. Delivery is at-most-once: Redis drops messages for a subscriber that
 * is disconnected, and the publisher drops events when Redis is slow or down (its queue holds
 * {@value #QUEUE} events) rather than slowing or failing a build.
 *
 * @since 0.1
 */
public final class PeerEvents {
  /** The channel events are published on. */
  public static final String CHANNEL = "buildnet-events";
  static final int QUEUE = 10_000;
  private static final Logger LOG = LoggerFactory.getLogger(PeerEvents.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private PeerEvents() {}

  /** What kind of thing happened. */
  public enum Kind { BUILD_STARTED, TARGET_STARTED, TARGET_FINISHED, BUILD_FINISHED }

  /**
   * One event of a peer's build.
   *
   * @param master the publishing master's name
   * @param kind what happened
   * @param buildId the peer's build id
   * @param target the target (null for build events)
   * @param status a target's or build's end: a {@link TargetOutcome.Status} name, or
   *     {@code SUCCEEDED}/{@code FAILED} for a build (null for starts)
   * @param detail the requested targets of a started build, or a finished target's reason
   * @param atMillis when it was published, on the publisher's clock
   */
  public record Event(String master, Kind kind, String buildId, String target, String status,
      List<String> detail, long atMillis) {}

  /** A listener to add to a BuildNet that publishes its events as {@code master}. */
  public static Publisher publisher(StateBackend state, String master) {
    return new Publisher(state, master);
  }

  /**
   * Delivers every event published by masters other than {@code self}, on the backend's pub/sub
   * thread (keep {@code listener} quick).
   */
  public static Subscription subscribe(StateBackend state, String self, Consumer<Event> listener) {
    Objects.requireNonNull(self, "self");
    Objects.requireNonNull(listener, "listener");
    return state.subscribe(CHANNEL, raw -> {
      Event event;
      try {
        event = JSON.readValue(raw, Event.class);
      } catch (IOException e) {
        LOG.debug("ignoring an unreadable peer event: {}", e.getMessage());
        return;
      }
      if (!self.equals(event.master())) {
        listener.accept(event);
      }
    });
  }

  /**
   * Publishes a master's build events from one background thread ({@code buildnet-peer-events});
   * {@link #close()} stops it.
   */
  public static final class Publisher implements BuildListener, AutoCloseable {
    private final StateBackend state;
    private final String master;
    private final ThreadPoolExecutor sender;

    private Publisher(StateBackend state, String master) {
      this.state = Objects.requireNonNull(state, "state");
      this.master = Objects.requireNonNull(master, "master");
      this.sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
          new ArrayBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "buildnet-peer-events");
            t.setDaemon(true);
            return t;
          }, new ThreadPoolExecutor.DiscardPolicy());
    }

    private void send(Kind kind, String buildId, String target, String status,
        List<String> detail) {
      Event event = new Event(master, kind, buildId, target, status, detail,
          System.currentTimeMillis());
      sender.execute(() -> {
        try {
          state.publish(CHANNEL, JSON.writeValueAsBytes(event));
        } catch (IOException | RuntimeException e) {
          LOG.debug("dropping peer event {} {}: {}", kind, target, e.getMessage());
        }
      });
    }

    @Override
    public void buildStarted(String buildId, List<String> targets) {
      send(Kind.BUILD_STARTED, buildId, null, null, targets);
    }

    @Override
    public void targetStarted(String buildId, String target, int attempt) {
      send(Kind.TARGET_STARTED, buildId, target, null, List.of());
    }

    @Override
    public void targetFinished(String buildId, TargetOutcome outcome) {
      send(Kind.TARGET_FINISHED, buildId, outcome.target(), outcome.status().name(),
          List.of(outcome.reason()));
    }

    @Override
    public void buildFinished(BuildResult result) {
      send(Kind.BUILD_FINISHED, result.buildId(), null,
          result.success() ? "SUCCEEDED" : "FAILED", List.of());
    }

    /** Sends what is queued (for up to 5 s), then stops. Idempotent. */
    @Override
    public void close() {
      sender.shutdown();
      try {
        sender.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
