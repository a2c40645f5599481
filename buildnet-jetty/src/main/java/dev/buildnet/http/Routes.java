package dev.buildnet.http;

import dev.buildnet.http.RouteTable.Route;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.server.Handler;

/**
 * The built-in routes, one handler per endpoint, as URI templates (the paths of
 * {@code docs/openapi.yaml}); fresh handler instances over the long-lived {@link Services}.
 */
final class Routes {
  private Routes() {}

  static List<Route> builtIn(Services s) {
    List<Route> r = new ArrayList<>();
    r.add(Route.template("/health", Probes.health()));
    r.add(Route.template("/ready", Probes.ready(s.dispatch::acceptingWork, s.net::writeFailure)));
    r.add(Route.template("/metrics", s.metrics.handler()));
    r.add(Route.template("/events", s.streams.sse()));
    r.add(Route.template("/ws", s.streams.webSocket(s.ws)));
    r.addAll(new Api(s).routes());
    r.add(Route.template("/cache/{key}", CacheHandlers.gradle(s.cache)));
    r.add(Route.template("/ac/{hash}", CacheHandlers.bazel(s.cache, false)));
    r.add(Route.template("/cas/{sha256}", CacheHandlers.bazel(s.cache, true)));
    Handler dashboard = StaticFiles.dashboard();
    r.add(Route.template("/", dashboard));
    r.add(Route.template("/dashboard/{file}", dashboard));
    return r;
  }
}
