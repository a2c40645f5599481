package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.events.BuildHistory;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jetty.JettyConnectionMetrics;
import io.micrometer.core.instrument.binder.jetty.JettyServerThreadPoolMetrics;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.snapshots.Quantile;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;

/**
 * Counters fed by a {@link BuildHistory} subscription (one atomic increment per event, never
 * blocking the build) and gauges read at scrape time, as Micrometer meters with the JVM's and
 * Jetty's, rendered by Micrometer's Prometheus registry (one per server, never the global one) in
 * Prometheus' text format 0.0.4.
 */
final class Metrics implements AutoCloseable {
  private static final Duration SIZE_CACHE = Duration.ofSeconds(10);

  private final Services s;
  private final BuildHistory.Subscription subscription;
  private final AtomicLong buildsStarted = new AtomicLong();
  private final Map<String, AtomicLong> buildsFinished = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> targets = new ConcurrentHashMap<>();
  private final Object sizeLock = new Object();
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();
  private long[] sizes;
  private long sizesAt = Long.MIN_VALUE;

  Metrics(Services s) {
    this.s = s;
    this.subscription = AddOns.history(s.net).subscribe(null, false, false, this::onEvent);
    register();
  }

  private void onEvent(BuildEvent e) {
    if (e instanceof BuildEvent.BuildStarted) {
      buildsStarted.incrementAndGet();
    } else if (e instanceof BuildEvent.BuildFinished f) {
      buildsFinished.computeIfAbsent(f.status().wireName(), k -> new AtomicLong())
          .incrementAndGet();
    } else if (e instanceof BuildEvent.TargetFinished f) {
      targets.computeIfAbsent(f.status().wireName(), k -> new AtomicLong()).incrementAndGet();
    }
  }

  long cacheHits() {
    return count(targets, "cached");
  }

  /** Targets that had to run: built, or failed after running. */
  long cacheMisses() {
    return count(targets, "built") + count(targets, "failed");
  }

  private static long count(Map<String, AtomicLong> m, String key) {
    AtomicLong v = m.get(key);
    return v == null ? 0 : v.get();
  }

  /**
   * BuildNet's blob store bytes and the HTTP cache's (blobs, bytes), walked at most every 10 s:
   * a scrape must not walk a large store each time.
   */
  long[] storeSizes() {
    synchronized (sizeLock) {
      long now = s.clock.millis();
      if (sizes == null || now - sizesAt > SIZE_CACHE.toMillis()) {
        try {
          long[] http = s.cache.entriesAndBytes();
          sizes = new long[] {AddOns.blobs(s.net).totalBytes(), http[0], http[1]};
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        sizesAt = now;
      }
      return sizes.clone();
    }
  }

  /**
   * Registers BuildNet's meters, the JVM's and (with {@link #bindJetty}) Jetty's. BuildNet's keep
   * the names and meanings they had before Micrometer; values are read at scrape time (counters
   * from the event subscription's atomics, gauges from the engine, the store sizes at most every
   * 10 s).
   */
  private void register() {
    FunctionCounter.builder("buildnet.builds.started", buildsStarted, AtomicLong::get)
        .description("Builds accepted.").register(registry);
    for (String st : new String[] {"succeeded", "failed", "cancelled"}) {
      FunctionCounter.builder("buildnet.builds.finished", buildsFinished, m -> count(m, st))
          .description("Builds ended, by status.").tag("status", st).register(registry);
    }
    Gauge.builder("buildnet.builds.running", AddOns.history(s.net), h -> h.running())
        .description("Builds running now.").register(registry);
    for (String k : new String[] {"built", "cached", "failed", "skipped", "cancelled"}) {
      FunctionCounter.builder("buildnet.targets", targets, m -> count(m, k))
          .description("Targets ended, by outcome.").tag("outcome", k).register(registry);
    }
    FunctionCounter.builder("buildnet.cache.hits", this, Metrics::cacheHits)
        .description("Targets served from the action cache.").register(registry);
    FunctionCounter.builder("buildnet.cache.misses", this, Metrics::cacheMisses)
        .description("Targets that had to run.").register(registry);
    Gauge.builder("buildnet.cache.bytes", this, m -> m.storeSizes()[0])
        .description("Bytes in BuildNet's blob store.").register(registry);
    HttpCacheStore c = s.cache;
    counter("buildnet.http.cache.hits", "Gradle/Bazel cache reads that found the entry.", c.hits);
    counter("buildnet.http.cache.misses", "Gradle/Bazel cache reads that did not.", c.misses);
    counter("buildnet.http.cache.puts", "Gradle/Bazel cache entries stored.", c.puts);
    counter("buildnet.http.cache.rejected", "Uploads refused (too large, digest mismatch).", c.rejected);
    counter("buildnet.http.cache.received.bytes", "Bytes uploaded to the HTTP cache.", c.bytesIn);
    counter("buildnet.http.cache.sent.bytes", "Bytes downloaded from the HTTP cache.", c.bytesOut);
    Gauge.builder("buildnet.http.cache.blobs", this, m -> m.storeSizes()[1])
        .description("Blobs in the HTTP cache.").register(registry);
    Gauge.builder("buildnet.http.cache.bytes", this, m -> m.storeSizes()[2])
        .description("Bytes in the HTTP cache.").register(registry);
    Gauge.builder("buildnet.queue.length", s.dispatch, DispatchView::queueLength)
        .description("Targets waiting to run.").register(registry);
    Gauge.builder("buildnet.workers", AddOns.history(s.net), h -> h.workers().size())
        .description("Connected workers.").register(registry);
    // The dispatcher computes its own quantiles over its last dispatches: a summary Micrometer
    // cannot build from outside, so it goes to the Prometheus registry underneath as one.
    registry.getPrometheusRegistry().register(this::dispatchLatency);
    Gauge.builder("buildnet.http.event.streams", s.streams, EventStreams::openStreams)
        .description("Open WebSocket and SSE event streams.").register(registry);
    counter("buildnet.http.events.dropped", "Events dropped for slow stream clients.", s.streams.dropped);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    closeables.add(gc);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  /** Jetty's thread pool and connections ({@code jetty_threads_*}, {@code jetty_connections_*}). */
  void bindJetty(Server server) {
    JettyServerThreadPoolMetrics pool = new JettyServerThreadPoolMetrics(server.getThreadPool(), Tags.empty());
    pool.bindTo(registry);
    closeables.add(pool);
    JettyConnectionMetrics.addToAllConnectors(server, registry);
  }

  private void counter(String name, String help, AtomicLong value) {
    FunctionCounter.builder(name, value, AtomicLong::get).description(help).register(registry);
  }

  private SummarySnapshot dispatchLatency() {
    DispatchView.Latency l = s.dispatch.dispatchLatency();
    return SummarySnapshot.builder()
        .name("buildnet_dispatch_latency_seconds")
        .help("From a target becoming runnable to it starting, over recent targets.")
        .dataPoint(SummarySnapshot.SummaryDataPointSnapshot.builder()
            .quantiles(Quantiles.of(new Quantile(0.5, seconds(l.p50())),
                new Quantile(0.9, seconds(l.p90())), new Quantile(0.99, seconds(l.p99()))))
            .count(l.samples())
            .build())
        .build();
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }

  /** Prometheus' text format 0.0.4. */
  String render() {
    return registry.scrape();
  }

  Handler handler() {
    return new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        return Http.handled(response, callback, () -> {
          byte[] body = render().getBytes(StandardCharsets.UTF_8);
          response.setStatus(200);
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
          response.write(true, ByteBuffer.wrap(body), callback);
        });
      }
    };
  }

  @Override
  public void close() {
    subscription.close();
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        // listeners on JMX beans; nothing is left to release
      }
    }
    registry.close();
  }
}
