package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.BuildFuture;
import dev.buildnet.BuildNet;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;

/** What the handlers share; outlives any route table, so a reload keeps streams and counters. */
final class Services implements AutoCloseable {
  final BuildNet net;
  final DispatchView dispatch;
  final HttpCacheStore cache;
  final ServerWebSocketContainer ws;
  final long maxBodyBytes;
  final Clock clock;
  final Metrics metrics;
  final EventStreams streams;
  final Tickets tickets;
  private final ScheduledThreadPoolExecutor timer;

  Services(BuildNet net, DispatchView dispatch, HttpCacheStore cache, ServerWebSocketContainer ws,
      long maxBodyBytes, int eventQueueSize, Clock clock) {
    this.net = net;
    this.dispatch = dispatch;
    this.cache = cache;
    this.ws = ws;
    this.maxBodyBytes = maxBodyBytes;
    this.clock = clock;
    this.tickets = new Tickets(clock);
    this.timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "buildnet-http-timer");
      t.setDaemon(true);
      return t;
    });
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.streams = new EventStreams(AddOns.history(net), AddOns.peers(net).orElse(null),
        AddOns.watchCycles(net), eventQueueSize);
    this.metrics = new Metrics(this);
    // Streams that see no events for the idle timeout would be closed by Jetty; a heartbeat keeps
    // them open and finds clients that went away without closing.
    timer.scheduleWithFixedDelay(streams::heartbeat, 15, 15, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    streams.close();
    metrics.close();
    try {
      cache.close();
    } catch (java.io.IOException e) {
      // Closing read-only handles of the pack's segments; nothing is lost.
    }
  }
}
