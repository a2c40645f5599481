package dev.buildnet.http;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.events.BuildHistory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Counters fed by a {@link BuildHistory} subscription (one atomic increment per event, never
 * blocking the build) and gauges read at scrape time; rendered in Prometheus' text format 0.0.4.
 */
final class Metrics implements AutoCloseable {
  private static final Duration SIZE_CACHE = Duration.ofSeconds(10);

  private final Services s;
  private final BuildHistory.Subscription subscription;
  private final AtomicLong buildsStarted = new AtomicLong();
  private final Map<String, AtomicLong> buildsFinished = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> targets = new ConcurrentHashMap<>();
  private final Object sizeLock = new Object();
  private long[] sizes;
  private long sizesAt = Long.MIN_VALUE;

  Metrics(Services s) {
    this.s = s;
    this.subscription = s.net.history().subscribe(null, false, false, this::onEvent);
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

  private Map<String, Long> targetsByOutcome() {
    Map<String, Long> out = new TreeMap<>();
    for (String k : new String[] {"built", "cached", "failed", "skipped", "cancelled"}) {
      out.put(k, count(targets, k));
    }
    return out;
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
          sizes = new long[] {s.net.blobs().totalBytes(), http[0], http[1]};
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        sizesAt = now;
      }
      return sizes.clone();
    }
  }

  String render() {
    StringBuilder b = new StringBuilder(4096);
    counter(b, "buildnet_builds_started_total", "Builds accepted.", buildsStarted.get());
    header(b, "buildnet_builds_finished_total", "counter", "Builds ended, by status.");
    for (String st : new String[] {"succeeded", "failed", "cancelled"}) {
      sample(b, "buildnet_builds_finished_total{status=\"" + st + "\"}", count(buildsFinished, st));
    }
    gauge(b, "buildnet_builds_running", "Builds running now.", s.net.history().running());
    header(b, "buildnet_targets_total", "counter", "Targets ended, by outcome.");
    targetsByOutcome().forEach((k, v) -> sample(b, "buildnet_targets_total{outcome=\"" + k + "\"}", v));
    counter(b, "buildnet_cache_hits_total", "Targets served from the action cache.", cacheHits());
    counter(b, "buildnet_cache_misses_total", "Targets that had to run.", cacheMisses());
    long[] sz = storeSizes();
    gauge(b, "buildnet_cache_bytes", "Bytes in BuildNet's blob store.", sz[0]);
    HttpCacheStore c = s.cache;
    counter(b, "buildnet_http_cache_hits_total", "Gradle/Bazel cache reads that found the entry.", c.hits.get());
    counter(b, "buildnet_http_cache_misses_total", "Gradle/Bazel cache reads that did not.", c.misses.get());
    counter(b, "buildnet_http_cache_puts_total", "Gradle/Bazel cache entries stored.", c.puts.get());
    counter(b, "buildnet_http_cache_rejected_total", "Uploads refused (too large, digest mismatch).", c.rejected.get());
    counter(b, "buildnet_http_cache_received_bytes_total", "Bytes uploaded to the HTTP cache.", c.bytesIn.get());
    counter(b, "buildnet_http_cache_sent_bytes_total", "Bytes downloaded from the HTTP cache.", c.bytesOut.get());
    gauge(b, "buildnet_http_cache_blobs", "Blobs in the HTTP cache.", sz[1]);
    gauge(b, "buildnet_http_cache_bytes", "Bytes in the HTTP cache.", sz[2]);
    gauge(b, "buildnet_queue_length", "Targets waiting to run.", s.dispatch.queueLength());
    gauge(b, "buildnet_workers", "Connected workers.", s.net.history().workers().size());
    DispatchView.Latency l = s.dispatch.dispatchLatency();
    header(b, "buildnet_dispatch_latency_seconds", "summary",
        "From a target becoming runnable to it starting, over recent targets.");
    sample(b, "buildnet_dispatch_latency_seconds{quantile=\"0.5\"}", seconds(l.p50()));
    sample(b, "buildnet_dispatch_latency_seconds{quantile=\"0.9\"}", seconds(l.p90()));
    sample(b, "buildnet_dispatch_latency_seconds{quantile=\"0.99\"}", seconds(l.p99()));
    sample(b, "buildnet_dispatch_latency_seconds_count", l.samples());
    gauge(b, "buildnet_http_event_streams", "Open WebSocket and SSE event streams.", s.streams.openStreams());
    counter(b, "buildnet_http_events_dropped_total", "Events dropped for slow stream clients.", s.streams.dropped.get());
    return b.toString();
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.6f", d.toNanos() / 1e9);
  }

  private static void counter(StringBuilder b, String name, String help, long v) {
    header(b, name, "counter", help);
    sample(b, name, v);
  }

  private static void gauge(StringBuilder b, String name, String help, long v) {
    header(b, name, "gauge", help);
    sample(b, name, v);
  }

  private static void header(StringBuilder b, String name, String type, String help) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n');
    b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void sample(StringBuilder b, String series, Object v) {
    b.append(series).append(' ').append(v).append('\n');
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
  }
}
