package dev.buildnet.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.internal.events.EventJson;
import dev.buildnet.internal.peers.PeerBuilds;
import dev.buildnet.internal.peers.PeerEvents;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;

/**
 * Live {@link BuildEvent}s over WebSocket ({@code /ws}) and Server-Sent Events ({@code /events}).
 * Each open stream is an {@link EventPump} fed by a {@link BuildHistory} subscription; the
 * registry here outlives route tables, so a reload does not touch open streams. With peer events
 * on, streams not limited to one build also carry other masters' events ({@code peer_*} kinds).
 */
final class EventStreams implements AutoCloseable {
  private final BuildHistory history;
  private final PeerBuilds peers;
  private final int capacity;
  private final Set<Stream> open = ConcurrentHashMap.newKeySet();
  final AtomicLong dropped = new AtomicLong();

  /** The last event encoded, so every stream it goes to shares one encoding. */
  private volatile Encoded last;

  private record Stream(EventPump pump, String heartbeat) {}

  private record Encoded(Object event, String json) {}

  /** What a client asked for: {@code ?build=ID&logs=true&replay=false}. */
  record Filter(String buildId, boolean logs, boolean replay) {
    static Filter of(Request request) {
      Fields q = Request.extractQueryParameters(request);
      return new Filter(q.getValue("build"), "true".equals(q.getValue("logs")),
          !"false".equals(q.getValue("replay")));
    }
  }

  /** {@code peers} is null when peer events are off. */
  EventStreams(BuildHistory history, PeerBuilds peers, int capacity) {
    this(history, peers, null, capacity);
  }

  /** {@code watchCycles} is null when the host has none (tests of the streams alone). */
  EventStreams(BuildHistory history, PeerBuilds peers,
      dev.buildnet.internal.watch.WatchCycles watchCycles, int capacity) {
    this.history = history;
    this.peers = peers;
    this.watchCycles = watchCycles;
    this.capacity = capacity;
  }

  private final dev.buildnet.internal.watch.WatchCycles watchCycles;

  int openStreams() {
    return open.size();
  }

  /** Starts a stream: replays the current state (if asked), then follows live events. */
  EventPump open(Filter f, EventPump.Writer writer, UnaryOperator<String> frame, String heartbeat) {
    EventPump pump = new EventPump(writer, capacity, dropped);
    Stream s = new Stream(pump, heartbeat);
    open.add(s);
    BuildHistory.Subscription sub = history.subscribe(f.buildId(), f.logs(), f.replay(),
        e -> pump.offer(frame.apply(encoded(e, EventStreams::json))));
    // A build id names a local build; peers' builds have ids of their own.
    PeerBuilds.Subscription peerSub = peers == null || f.buildId() != null ? null
        : peers.subscribe(e -> pump.offer(frame.apply(encoded(e, EventStreams::json))));
    // Watch cycles (watch_cycle): on every stream, or on the stream of the cycle's build.
    AutoCloseable cycleSub = watchCycles == null ? null : watchCycles.subscribe(c -> {
      if (f.buildId() == null || f.buildId().equals(c.cycle().buildId())) {
        pump.offer(frame.apply(json(c)));
      }
    });
    pump.onClose(() -> {
      if (cycleSub != null) {
        try {
          cycleSub.close();
        } catch (Exception e) {
          // removing a subscriber does not fail
        }
      }
      sub.close();
      if (peerSub != null) {
        peerSub.close();
      }
      open.remove(s);
    });
    return pump;
  }

  void heartbeat() {
    open.forEach(s -> s.pump().offer(s.heartbeat()));
  }

  @Override
  public void close() {
    open.forEach(s -> s.pump().close());
  }

  /**
   * {@code e} as JSON, encoded once however many streams it goes to: both sources hand the same
   * event instance to each subscriber in turn. Compared by identity, so a race only costs an
   * extra encoding.
   */
  private <E> String encoded(E e, Function<E, String> encode) {
    Encoded l = last;
    if (l != null && l.event() == e) {
      return l.json();
    }
    String json = encode.apply(e);
    last = new Encoded(e, json);
    return json;
  }

  /** {@code e} as the API's JSON ({@link EventJson}, docs/HTTP.md). */
  static String json(BuildEvent e) {
    return EventJson.toJson(e).toString();
  }

  /**
   * A watch cycle as it starts: {@code {"kind":"watch_cycle","at":...,"cycle":3,"build":ID,
   * "changed":[paths],"changedCount":N,"targets":[names],"rescanned":false}} ({@code build} is
   * empty when the changes affected no target).
   */
  static String json(dev.buildnet.internal.watch.WatchCycles.Started s) {
    ObjectNode n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    n.put("kind", "watch_cycle");
    cycle(n, s, Integer.MAX_VALUE);
    return n.toString();
  }

  /**
   * The fields of a watch cycle ({@code at}, {@code cycle}, {@code build}, {@code changed} with at
   * most {@code maxPaths} paths, {@code changedCount}, {@code targets}, {@code rescanned}) into
   * {@code n}: the event and {@code GET /api/watch} say a cycle the same way.
   */
  static ObjectNode cycle(ObjectNode n, dev.buildnet.internal.watch.WatchCycles.Started s,
      int maxPaths) {
    n.put("at", s.at().toString());
    n.put("cycle", s.cycle().number());
    n.put("build", s.cycle().buildId());
    com.fasterxml.jackson.databind.node.ArrayNode changed = n.putArray("changed");
    s.cycle().changedPaths().stream().limit(maxPaths).forEach(changed::add);
    n.put("changedCount", s.cycle().changedCount());
    s.cycle().targets().forEach(n.putArray("targets")::add);
    n.put("rescanned", s.cycle().rescanned());
    return n;
  }

  /** A peer's event: its JSON with kind {@code peer_build_started} etc. and the peer's {@code master}. */
  static String json(PeerEvents.Event e) {
    ObjectNode n = EventJson.toJson(e.event());
    n.put("kind", "peer_" + e.event().kind().wireName());
    n.put("master", e.master());
    return n.toString();
  }

  /** {@code /events}: one SSE stream per request; the request stays open until either side ends. */
  Handler sse() {
    return new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream;charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        AtomicBoolean ended = new AtomicBoolean();
        EventPump.Writer writer = new EventPump.Writer() {
          @Override
          public void write(String message, Runnable done, Consumer<Throwable> failed) {
            response.write(false, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)),
                Callback.from(done, failed));
          }

          @Override
          public void close() {
            if (!ended.getAndSet(true)) {
              callback.succeeded();
            }
          }
        };
        EventPump pump = open(Filter.of(request), writer, m -> "data: " + m + "\n\n", ": heartbeat\n\n");
        request.addFailureListener(t -> pump.close());
        pump.offer(": connected\n\n");
        return true;
      }
    };
  }

  /** {@code /ws}: upgrades to a WebSocket that sends one JSON event per text message. */
  Handler webSocket(ServerWebSocketContainer container) {
    return new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        Filter f = Filter.of(request);
        boolean upgraded = container.upgrade(
            (upgradeRequest, upgradeResponse, cb) -> new Socket(EventStreams.this, f), request,
            response, callback);
        if (!upgraded) {
          Http.error(response, callback, 400, "not_websocket",
              "/ws needs a WebSocket upgrade request",
              "connect with a WebSocket client, or use /events for Server-Sent Events");
        }
        return true;
      }
    };
  }

  /** Public only because Jetty binds listener methods reflectively; the outer class is not. */
  public static final class Socket implements Session.Listener.AutoDemanding {
    private final EventStreams streams;
    private final Filter filter;
    private volatile EventPump pump;

    Socket(EventStreams streams, Filter filter) {
      this.streams = streams;
      this.filter = filter;
    }

    @Override
    public void onWebSocketOpen(Session session) {
      EventPump.Writer writer = new EventPump.Writer() {
        @Override
        public void write(String message, Runnable done, Consumer<Throwable> failed) {
          session.sendText(message, org.eclipse.jetty.websocket.api.Callback.from(done, failed));
        }

        @Override
        public void close() {
          if (session.isOpen()) {
            session.close();
          }
        }
      };
      pump = streams.open(filter, writer, UnaryOperator.identity(), "{\"kind\":\"heartbeat\"}");
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason,
        org.eclipse.jetty.websocket.api.Callback callback) {
      end();
      callback.succeed();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      end();
    }

    private void end() {
      EventPump p = pump;
      if (p != null) {
        p.close();
      }
    }
  }
}
