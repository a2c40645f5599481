package dev.buildnet.internal.peers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.Subscription;
import dev.buildnet.internal.events.EventJson;
import java.io.IOException;
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
 * channel {@value #CHANNEL}: a {@link BuildEvent} as {@link EventJson} writes it (the HTTP API's
 * event JSON) plus the publisher's {@code master}. Delivery is at-most-once: Redis drops messages for a subscriber that
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
  private static final ObjectMapper JSON = new ObjectMapper();

  private PeerEvents() {}

  /**
   * One event of a peer's build.
   *
   * @param master the publishing master's name
   * @param event what happened ({@code BuildStarted}, {@code TargetStarted}, {@code
   *     TargetFinished} or {@code BuildFinished}), with its time on the publisher's clock; as it
   *     came over the channel, so without outcome or result
   */
  public record Event(String master, BuildEvent event) {
    public Event {
      Objects.requireNonNull(master, "master");
      Objects.requireNonNull(event, "event");
    }
  }

  /** The channel's JSON for {@code event}: the event's JSON with {@code master} first. */
  static byte[] encode(Event event) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("master", event.master());
    n.setAll(EventJson.toJson(event.event()));
    return JSON.writeValueAsBytes(n);
  }

  /** The event in a channel message, or null if it is none (e.g. from another version). */
  static Event decode(byte[] raw) throws IOException {
    com.fasterxml.jackson.databind.JsonNode n = JSON.readTree(raw);
    String master = n == null ? null : n.path("master").isTextual() ? n.get("master").asText() : null;
    BuildEvent e = EventJson.fromJson(n);
    return master == null || e == null || !e.kind().aboutBuild() ? null : new Event(master, e);
  }

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
        event = decode(raw);
      } catch (IOException | RuntimeException e) {
        LOG.debug("ignoring an unreadable peer event: {}", e.getMessage());
        return;
      }
      if (event == null) {
        LOG.debug("ignoring a peer event of an unknown form");
      } else if (!self.equals(event.master())) {
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

    /** Publishes build and target starts and ends; ignores the rest (log lines, workers). */
    @Override
    public void onEvent(BuildEvent e) {
      switch (e.kind()) {
        case BUILD_STARTED, TARGET_STARTED, TARGET_FINISHED, BUILD_FINISHED -> send(e);
        default -> { }
      }
    }

    private void send(BuildEvent e) {
      Event event = new Event(master, e);
      sender.execute(() -> {
        try {
          state.publish(CHANNEL, encode(event));
        } catch (IOException | RuntimeException ex) {
          LOG.debug("dropping peer event {} of {}: {}", e.kind(), e.buildId(), ex.getMessage());
        }
      });
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
