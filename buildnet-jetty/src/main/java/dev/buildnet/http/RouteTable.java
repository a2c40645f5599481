package dev.buildnet.http;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.eclipse.jetty.http.pathmap.PathSpec;
import org.eclipse.jetty.http.pathmap.PathSpecGroup;
import org.eclipse.jetty.http.pathmap.ServletPathSpec;
import org.eclipse.jetty.http.pathmap.UriTemplatePathSpec;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.PathMappingsHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The route table: a Jetty {@link PathMappingsHandler} (URI templates, exact paths, prefixes) held
 * in an {@link AtomicReference}. A change builds a new one and swaps it in with one pointer write,
 * so a reload never touches connections, streams or WebSockets already open (they hold their own
 * state, not the table). A request no route takes is answered here: 404 {@code not_found}.
 *
 * <p>Declared non-blocking, and it dispatches itself: a request for an exact path whose handler
 * is non-blocking ({@code /health}, {@code /ready}) is answered at once on the thread that parsed
 * it (Jetty's selector), like an event-loop server, which saves a hand-off to a pool thread per
 * probe. A template route whose handler is {@link Inline} (the cache endpoints) is offered the
 * request first on that thread too, and answers what it can without blocking for long (packed
 * hits, small uploads); every other request (the API and the cache endpoints touch the disk and
 * the state backend) goes to a pool thread of the server's executor, as it did when the whole table was
 * declared blocking. Each route's handler then completes the request's callback exactly once, on
 * that thread or from Jetty's own demand and write callbacks; none hands the request on again.
 */
final class RouteTable extends Handler.Abstract {
  /**
   * A route's handler that can answer some requests at once, on the thread that parsed them
   * (a cache hit held in memory-sized pack records), and leaves the rest to its blocking
   * {@code handle} on a pool thread.
   */
  interface Inline {
    /**
     * Answers the request now, without blocking for long, and returns true; or returns false
     * having done nothing to the request, response or callback.
     */
    boolean tryNow(Request request, Response response, Callback callback);
  }

  /** A template route's handler that can answer inline, with the path prefix before its first '{'. */
  private record Prefixed(String prefix, Inline handler) {}

  /** One route: the path it is known by (a template, or a prefix ending in '/'), its spec, its handler. */
  record Route(String path, PathSpec spec, Handler handler) {
    /** A template route: {@code {name}} matches one path segment. */
    static Route template(String template, Handler handler) {
      return new Route(template, new UriTemplatePathSpec(template), handler);
    }

    /**
     * What {@link BuildNetHttp#mount} takes: a path ending in '/' is a prefix (it takes the path
     * without its final '/' too), any other path exactly itself.
     */
    static Route mounted(String path, Handler handler) {
      if (path == null || !path.startsWith("/")) {
        throw new IllegalArgumentException("a route path starts with '/' but was '" + path + "'");
      }
      PathSpec spec = path.equals("/") ? new UriTemplatePathSpec("/")
          : path.endsWith("/") ? new ServletPathSpec(path + "*") : new ServletPathSpec(path);
      return new Route(path, spec, handler);
    }
  }

  /**
   * @param inline the handlers of exact paths that are non-blocking, by path: answered on the
   *     calling thread, without the mappings' matching
   */
  private record Table(Map<String, Route> routes, PathMappingsHandler mappings,
      Map<String, Handler> inline, java.util.List<Prefixed> prefixed) {}

  private final AtomicReference<Table> table;

  RouteTable(java.util.Collection<Route> routes) {
    super(InvocationType.NON_BLOCKING);
    this.table = new AtomicReference<>(build(byPath(routes)));
  }

  private static Map<String, Route> byPath(java.util.Collection<Route> routes) {
    Map<String, Route> m = new LinkedHashMap<>();
    routes.forEach(r -> m.put(r.path(), r));
    return m;
  }

  /**
   * A new mappings handler, started when the table is: handlers kept from the previous table are
   * started already (starting is then a no-op), and the previous table is never stopped, since it
   * shares them.
   */
  private Table build(Map<String, Route> routes) {
    // NoContext: handlers see the request's own path, not one relative to the matched route.
    PathMappingsHandler mappings = new PathMappingsHandler.NoContext();
    routes.values().forEach(r -> mappings.addMapping(r.spec(), r.handler()));
    if (getServer() != null) {
      mappings.setServer(getServer());
    }
    if (isStarted() || isStarting()) {
      try {
        mappings.start();
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the new route table: " + e, e);
      }
    }
    Map<String, Handler> inline = new java.util.HashMap<>();
    for (Route r : routes.values()) {
      // An exact path beats every template and prefix, so a request for it reaches this handler.
      if (r.handler().getInvocationType() == InvocationType.NON_BLOCKING
          && !r.path().endsWith("/") && r.path().indexOf('{') < 0) {
        inline.put(r.path(), r.handler());
      }
    }
    java.util.List<Prefixed> prefixed = new java.util.ArrayList<>();
    for (Route r : routes.values()) {
      int brace = r.path().indexOf('{');
      if (r.handler() instanceof Inline i && brace > 0 && r.spec() instanceof UriTemplatePathSpec) {
        String prefix = r.path().substring(0, brace);
        // A mounted prefix route overlapping this one might win the match: then no shortcut.
        boolean overlapped = routes.values().stream().anyMatch(other -> {
          if (other == r || other.spec().getGroup() != PathSpecGroup.PREFIX_GLOB) {
            return false;
          }
          int b = other.path().indexOf('{');
          String o = b < 0 ? other.path() : other.path().substring(0, b);
          return o.startsWith(prefix) || prefix.startsWith(o);
        });
        if (!overlapped) {
          prefixed.add(new Prefixed(prefix, i));
        }
      }
    }
    return new Table(Map.copyOf(routes), mappings, Map.copyOf(inline), java.util.List.copyOf(prefixed));
  }

  @Override
  protected void doStart() throws Exception {
    Table t = table.get();
    t.mappings().setServer(getServer());
    t.mappings().start();
    super.doStart();
  }

  @Override
  protected void doStop() throws Exception {
    super.doStop();
    table.get().mappings().stop();
  }

  void mount(String path, Request.Handler handler) {
    Route r = Route.mounted(path, handler instanceof Handler h ? h : adapt(handler));
    update(all -> {
      all.put(path, r);
      return all;
    });
  }

  /** A plain {@link Request.Handler} as a {@link Handler}, which a path mapping holds. */
  private static Handler adapt(Request.Handler handler) {
    return new Handler.Abstract(handler.getInvocationType()) {
      @Override
      public boolean handle(Request request, Response response, Callback callback) throws Exception {
        return handler.handle(request, response, callback);
      }
    };
  }

  boolean unmount(String path) {
    boolean[] removed = new boolean[1];
    update(all -> {
      removed[0] = all.remove(path) != null;
      return all;
    });
    return removed[0];
  }

  /** The routed paths now (templates; prefixes end in '/'), for tests that hold the docs to the table. */
  Set<String> paths() {
    return table.get().routes().keySet();
  }

  synchronized void replaceAll(java.util.Collection<Route> routes) {
    table.set(build(byPath(routes)));
  }

  private synchronized void update(UnaryOperator<Map<String, Route>> change) {
    table.set(build(change.apply(new LinkedHashMap<>(table.get().routes()))));
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    Table t = table.get();
    String path = Request.getPathInContext(request);
    Handler now = t.inline().get(path);
    if (now != null && now.handle(request, response, callback)) {
      return true;
    }
    for (Prefixed p : t.prefixed()) {
      // One segment after the template's prefix, and no exact route for the path: the template
      // is the route the mappings would pick.
      if (path.startsWith(p.prefix()) && path.indexOf('/', p.prefix().length()) < 0
          && !t.routes().containsKey(path) && p.handler().tryNow(request, response, callback)) {
        return true;
      }
    }
    request.getContext().execute(() -> {
      try {
        route(t, request, response, callback);
      } catch (Throwable e) {
        // What Jetty does with a handler's exception when it runs the handler itself.
        if (response.isCommitted()) {
          callback.failed(e);
        } else {
          Response.writeError(request, response, callback, e);
        }
      }
    });
    return true;
  }

  private static void route(Table t, Request request, Response response, Callback callback)
      throws Exception {
    if (!t.mappings().handle(request, response, callback)) {
      Http.error(response, callback, 404, "not_found",
          "no such endpoint: " + request.getMethod() + " " + Http.clip(Request.getPathInContext(request)),
          "see docs/HTTP.md for the endpoints");
    }
  }
}
