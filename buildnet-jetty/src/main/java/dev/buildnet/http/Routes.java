package dev.buildnet.http;

import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.server.Request;

/** The built-in route table; fresh handler instances over the long-lived {@link Services}. */
final class Routes {
  private Routes() {}

  static Map<String, Request.Handler> builtIn(Services s) {
    Map<String, Request.Handler> r = new LinkedHashMap<>();
    r.put("/health", Probes.health());
    r.put("/ready", Probes.ready(s.dispatch::acceptingWork, s.net::writeFailure));
    r.put("/metrics", s.metrics.handler());
    r.put("/events", s.streams.sse());
    r.put("/ws", s.streams.webSocket(s.ws));
    r.put("/api/", new Api(s));
    r.put("/cache/", CacheHandlers.gradle(s.cache));
    r.put("/ac/", CacheHandlers.bazel(s.cache, false));
    r.put("/cas/", CacheHandlers.bazel(s.cache, true));
    Request.Handler dashboard = StaticFiles.dashboard();
    r.put("/", dashboard);
    r.put("/dashboard/", dashboard);
    return r;
  }
}
