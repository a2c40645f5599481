package dev.buildnet.http;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Routes by path through an immutable table held in an {@link AtomicReference}: swapping it is one
 * pointer write, so a reload never touches connections, streams or WebSockets already open (they
 * hold their own handler state, not the table).
 */
final class Router extends Handler.Abstract {
  /** Exact paths, and prefixes (ending in '/') longest first. */
  record Table(Map<String, Request.Handler> exact, List<Map.Entry<String, Request.Handler>> prefixes) {
    static Table of(Map<String, Request.Handler> routes) {
      Map<String, Request.Handler> exact = new HashMap<>();
      List<Map.Entry<String, Request.Handler>> prefixes = new java.util.ArrayList<>();
      routes.forEach((path, h) -> {
        if (path.endsWith("/")) {
          prefixes.add(Map.entry(path, h));
        } else {
          exact.put(path, h);
        }
      });
      prefixes.sort(Comparator.comparingInt((Map.Entry<String, Request.Handler> e) -> e.getKey().length()).reversed());
      return new Table(Map.copyOf(exact), List.copyOf(prefixes));
    }

    Map<String, Request.Handler> all() {
      Map<String, Request.Handler> all = new java.util.LinkedHashMap<>(exact);
      prefixes.forEach(e -> all.put(e.getKey(), e.getValue()));
      return all;
    }

    Request.Handler find(String path) {
      Request.Handler h = exact.get(path);
      if (h != null) {
        return h;
      }
      for (Map.Entry<String, Request.Handler> e : prefixes) {
        if (path.startsWith(e.getKey())) {
          return e.getValue();
        }
      }
      return null;
    }
  }

  private final AtomicReference<Table> table;

  /**
   * Declared blocking, the truth for the table as a whole (the API and the cache endpoints touch
   * disk and the state backend), so Jetty calls {@link #handle} on a pool thread and every handler
   * runs on the thread Jetty chose for it. Nothing here hands a request to another thread: a
   * handler that returns true owns the callback, and one that waits for a body does so through
   * Jetty's demand model ({@link BodyReader}), holding no thread while it waits.
   */
  Router(Map<String, Request.Handler> routes) {
    super(InvocationType.BLOCKING);
    this.table = new AtomicReference<>(Table.of(routes));
  }

  void mount(String path, Request.Handler handler) {
    if (path == null || !path.startsWith("/")) {
      throw new IllegalArgumentException("a route path starts with '/' but was '" + path + "'");
    }
    update(all -> {
      all.put(path, handler);
      return all;
    });
  }

  boolean unmount(String path) {
    boolean[] removed = new boolean[1];
    update(all -> {
      removed[0] = all.remove(path) != null;
      return all;
    });
    return removed[0];
  }

  /** The routed paths now (prefixes end in '/'), for tests that hold the docs to the table. */
  java.util.Set<String> paths() {
    return table.get().all().keySet();
  }

  void replaceAll(Map<String, Request.Handler> routes) {
    table.set(Table.of(routes));
  }

  private void update(UnaryOperator<Map<String, Request.Handler>> change) {
    table.updateAndGet(t -> Table.of(change.apply(t.all())));
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    Request.Handler h = table.get().find(Request.getPathInContext(request));
    if (h == null || !h.handle(request, response, callback)) {
      notFound(request, response, callback);
    }
    return true;
  }

  private static void notFound(Request request, Response response, Callback callback) {
    Http.error(response, callback, 404, "not_found",
        "no such endpoint: " + request.getMethod() + " " + Http.clip(Request.getPathInContext(request)),
        "see docs/HTTP.md for the endpoints");
  }
}
