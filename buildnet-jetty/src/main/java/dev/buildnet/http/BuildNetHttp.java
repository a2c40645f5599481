package dev.buildnet.http;

import dev.buildnet.BuildNet;
import dev.buildnet.api.BuildNetException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;

/**
 * An HTTP front for a running {@link BuildNet} on Jetty 12: a JSON API, live events (WebSocket
 * and Server-Sent Events), Prometheus metrics, a dashboard page, health probes, and Gradle and
 * Bazel HTTP build-cache endpoints. The endpoints are described in {@code docs/HTTP.md}.
 *
 * <pre>{@code
 * try (BuildNetHttp http = BuildNetHttp.attach(net).port(7891).token(secret).start()) {
 *   System.out.println("dashboard at " + http.uri());
 *   ...
 * }
 * }</pre>
 *
 * <h2>Security</h2>
 * Binds to {@code 127.0.0.1} unless told otherwise. Every mutating request and every cache
 * {@code PUT} needs {@code Authorization: Bearer <token>} (Basic with the token as password is
 * accepted too, for Gradle and Bazel); the token is compared in constant time. Read-only endpoints
 * need the token as well unless {@link Builder#openReads(boolean)}; {@code /health},
 * {@code /ready} and the dashboard's static files never do. The {@code Host} header must name one
 * of the {@link Builder#allowedHosts allowed hosts} (against DNS rebinding); there are no CORS
 * headers unless {@link Builder#corsOrigins origins} are configured; request bodies are limited.
 *
 * <h2>Hot reload</h2>
 * {@link #mount} and {@link #unmount} swap the route table atomically: the next request sees the
 * new table, while open connections, streams and WebSockets carry on untouched.
 *
 * <h2>Threads and shutdown</h2>
 * Jetty's pool ({@code buildnet-http-…} threads, daemon). All methods are thread-safe; {@link
 * #close()} stops the server (open event streams end), is idempotent and never closes the
 * {@code BuildNet}, which stays the caller's.
 *
 * @since 0.1
 */
public final class BuildNetHttp implements AutoCloseable {
  private final Server server;
  private final ServerConnector connector;
  private final RouteTable routes;
  private final Services services;
  private final AtomicBoolean closed = new AtomicBoolean();

  private BuildNetHttp(Builder b) {
    QueuedThreadPool pool = new QueuedThreadPool(b.maxThreads, 2);
    pool.setName("buildnet-http");
    pool.setDaemon(true);
    this.server = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false); // no version banner for scanners
    http.setSendXPoweredBy(false);
    // No per-connection header cache: on every request it walks a trie through each header line
    // (the Authorization line is ~60 characters) looking for one seen before; under wrk that was
    // 5.5% of the server's CPU samples, against about 2.5% more spent parsing without it (perf).
    http.setHeaderCacheSize(0);
    this.connector = new ServerConnector(server, 1, -1, new HttpConnectionFactory(http));
    connector.setHost(b.host);
    connector.setPort(b.port);
    connector.setReuseAddress(true);
    connector.setName("http"); // the connector_name of the jetty_connections_* meters
    server.addConnector(connector);
    ServerWebSocketContainer ws = ServerWebSocketContainer.ensure(server);
    ws.setMaxTextMessageSize(64 * 1024);
    HttpCacheStore cacheStore = new HttpCacheStore(
        b.cacheDirectory != null ? b.cacheDirectory
            : b.net.workspace().resolve(".buildnet").resolve("http-cache"),
        b.maxCacheEntryBytes, b.maxCacheBytes, b.clock, b.packedEntryBytes);
    DispatchView dispatch = b.dispatch != null ? b.dispatch : DispatchView.of(b.net);
    this.services = new Services(b.net, dispatch, cacheStore, ws, b.maxBodyBytes,
        b.eventQueueSize, b.clock);
    this.routes = new RouteTable(Routes.builtIn(services));
    services.metrics.bindJetty(server);
    Auth auth = new Auth(b.token, b.openReads, services.tickets);
    Set<String> hosts = new LinkedHashSet<>(b.allowedHosts);
    if (hosts.isEmpty()) {
      hosts.addAll(List.of("127.0.0.1", "localhost", "[::1]"));
      if (!b.host.equals("0.0.0.0") && !b.host.equals("::")) {
        hosts.add(b.host.contains(":") && !b.host.startsWith("[") ? "[" + b.host + "]" : b.host);
      }
    }
    server.setHandler(new Guard(routes, auth, hosts, Set.copyOf(b.corsOrigins)));
    server.setErrorHandler(new JsonErrors()); // Jetty's own refusals in the API's error format
    // Fixed handler tree (routes change inside the RouteTable), so Jetty may take the tree's own
    // invocation type, non-blocking: the selector answers probes itself (see RouteTable).
    server.setDynamic(false);
    // close() stops at once: open event streams and keep-alive connections would hold a graceful
    // stop for its whole timeout, and builds are BuildNet's to drain, not the HTTP front's.
    server.setStopTimeout(0);
    try {
      server.start();
    } catch (Exception e) {
      services.close();
      try {
        server.stop();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new BuildNetException("cannot start HTTP on " + b.host + ":" + b.port + ": " + e, e);
    }
  }

  /** Starts configuring an HTTP front for {@code net}. */
  public static Builder attach(BuildNet net) {
    return new Builder(Objects.requireNonNull(net, "net"));
  }

  /** The port listened on (the one chosen when 0 was asked for). */
  public int port() {
    return connector.getLocalPort();
  }

  /** The base URI, e.g. {@code http://127.0.0.1:7891/}. */
  public URI uri() {
    String host = connector.getHost();
    if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + port() + "/");
  }

  /**
   * Routes requests whose path is {@code path}, or starts with it when it ends with {@code /} (the
   * path without that final {@code /} included), to {@code handler}, replacing a route with the
   * same path. A handler that returns false gets the 404 of an unknown path. Takes effect for the next request;
   * requests in flight, open connections, event streams and WebSockets are not disturbed. The
   * {@link Builder security checks} run before every route.
   */
  public void mount(String path, Request.Handler handler) {
    routes.mount(path, Objects.requireNonNull(handler, "handler"));
  }

  /** Removes the route for exactly {@code path}; returns whether there was one. */
  public boolean unmount(String path) {
    return routes.unmount(path);
  }

  /** Jetty's pool, for tests that check no slow client holds its threads. */
  QueuedThreadPool threadPool() {
    return (QueuedThreadPool) server.getThreadPool();
  }

  /** The Gradle/Bazel cache's store, for tests that look at its counters. */
  HttpCacheStore cacheStore() {
    return services.cache;
  }

  /** The routed paths now: URI templates, and prefixes ending in '/'. */
  Set<String> routePaths() {
    return routes.paths();
  }

  /**
   * Replaces every route with a fresh set of the built-in handlers (dropping routes added by
   * {@link #mount}), without dropping connections: what a reload after a configuration change does.
   */
  public void reloadBuiltIns() {
    routes.replaceAll(Routes.builtIn(services));
  }

  /** Stops the server and ends open event streams; idempotent. The BuildNet stays open. */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    int port = port();
    services.close();
    try {
      server.stop();
    } catch (Exception e) {
      throw new BuildNetException("stopping HTTP on port " + port + ": " + e, e);
    }
  }

  @Override
  public String toString() {
    return "BuildNetHttp[" + (closed.get() ? "closed" : uri()) + "]";
  }

  /**
   * Configures a {@link BuildNetHttp}. Each setting may be given once; a second call or a bad value
   * fails at once with a message that says what is wrong.
   */
  public static final class Builder {
    private final BuildNet net;
    private String host = "127.0.0.1";
    private boolean hostSet;
    private int port = 7891;
    private boolean portSet;
    private byte[] token;
    private Boolean openReadsSet;
    private boolean openReads;
    private final Set<String> allowedHosts = new LinkedHashSet<>();
    private final Set<String> corsOrigins = new LinkedHashSet<>();
    private long maxBodyBytes = 1 << 20;
    private boolean maxBodySet;
    private long maxCacheEntryBytes = 256L << 20;
    private long maxCacheBytes = 10L << 30;
    private boolean maxCacheBytesSet;
    private boolean maxCacheEntrySet;
    private Path cacheDirectory;
    private DispatchView dispatch;
    private int eventQueueSize = 4096;
    private boolean eventQueueSet;
    private int maxThreads = 32;
    private boolean maxThreadsSet;
    private Clock clock = Clock.systemUTC();
    private int packedEntryBytes = HttpCacheStore.IN_MEMORY_PUT;
    private boolean clockSet;

    private Builder(BuildNet net) {
      this.net = net;
    }

    /** The address to bind; default {@code 127.0.0.1}. Anything else exposes the API. */
    public Builder host(String host) {
      once(hostSet, "host", this.host);
      Objects.requireNonNull(host, "host");
      try {
        InetAddress.getByName(host.startsWith("[") ? host.substring(1, host.length() - 1) : host);
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("host '" + host + "' does not resolve: " + e.getMessage());
      }
      this.host = host;
      this.hostSet = true;
      return this;
    }

    /** The port; default 7891, 0 picks a free one (see {@link BuildNetHttp#port()}). */
    public Builder port(int port) {
      once(portSet, "port", this.port);
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be within 0..65535 but was " + port);
      }
      this.port = port;
      this.portSet = true;
      return this;
    }

    /** The bearer token mutating (and, unless {@link #openReads}, reading) requests must carry. */
    public Builder token(String token) {
      if (this.token != null) {
        throw new IllegalStateException("token was already set");
      }
      Objects.requireNonNull(token, "token");
      if (token.length() < 16 || token.strip().length() != token.length()) {
        throw new IllegalArgumentException("token must be at least 16 characters without "
            + "surrounding whitespace (it was " + token.length() + " characters)");
      }
      this.token = token.getBytes(StandardCharsets.UTF_8);
      return this;
    }

    /** Reads the token from the first line of {@code file} (never pass a secret as an argument). */
    public Builder tokenFile(Path file) {
      try {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
          throw new IllegalArgumentException("token file " + file + " is empty");
        }
        return token(lines.get(0).strip());
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read token file " + file + ": " + e, e);
      }
    }

    /** Whether read-only endpoints answer without the token; default false. */
    public Builder openReads(boolean open) {
      if (openReadsSet != null) {
        throw new IllegalStateException("openReads was already set to " + openReadsSet);
      }
      this.openReadsSet = open;
      this.openReads = open;
      return this;
    }

    /**
     * The host names the {@code Host} header may carry (without port), e.g. {@code build.lan};
     * default {@code 127.0.0.1}, {@code localhost}, {@code [::1]} and the bound host.
     */
    public Builder allowedHosts(String... names) {
      for (String n : names) {
        if (n == null || n.isBlank() || n.contains("/")) {
          throw new IllegalArgumentException("allowed host must be a host name but was '" + n + "'");
        }
        if (!allowedHosts.add(n.toLowerCase(java.util.Locale.ROOT))) {
          throw new IllegalStateException("allowed host '" + n + "' was already added");
        }
      }
      return this;
    }

    /** Origins (e.g. {@code https://ci.example}) that get CORS headers; default none. */
    public Builder corsOrigins(String... origins) {
      for (String o : origins) {
        if (o == null || !(o.startsWith("http://") || o.startsWith("https://")) || o.endsWith("/")) {
          throw new IllegalArgumentException(
              "a CORS origin is scheme://host[:port] without a path but was '" + o + "'");
        }
        if (!corsOrigins.add(o)) {
          throw new IllegalStateException("CORS origin '" + o + "' was already added");
        }
      }
      return this;
    }

    /** The largest JSON request body accepted; default 1 MiB. */
    public Builder maxBodyBytes(long max) {
      once(maxBodySet, "maxBodyBytes", maxBodyBytes);
      if (max < 1) {
        throw new IllegalArgumentException("maxBodyBytes must be at least 1 but was " + max);
      }
      this.maxBodyBytes = max;
      this.maxBodySet = true;
      return this;
    }

    /** The largest build-cache entry accepted by {@code PUT}; default 256 MiB. */
    public Builder maxCacheEntryBytes(long max) {
      once(maxCacheEntrySet, "maxCacheEntryBytes", maxCacheEntryBytes);
      if (max < 1) {
        throw new IllegalArgumentException("maxCacheEntryBytes must be at least 1 but was " + max);
      }
      this.maxCacheEntryBytes = max;
      this.maxCacheEntrySet = true;
      return this;
    }

    /**
     * The Gradle/Bazel cache's size cap: past it, the least recently used blobs are evicted down to
     * 90% of it; default 10 GiB.
     */
    public Builder maxCacheBytes(long max) {
      once(maxCacheBytesSet, "maxCacheBytes", maxCacheBytes);
      if (max < 1) {
        throw new IllegalArgumentException("maxCacheBytes must be at least 1 but was " + max);
      }
      this.maxCacheBytes = max;
      this.maxCacheBytesSet = true;
      return this;
    }

    /** Where the Gradle/Bazel cache keeps its SHA-256 store; default {@code .buildnet/http-cache}. */
    public Builder cacheDirectory(Path dir) {
      if (cacheDirectory != null) {
        throw new IllegalStateException("cacheDirectory was already set to " + cacheDirectory);
      }
      this.cacheDirectory = Objects.requireNonNull(dir, "dir").toAbsolutePath();
      return this;
    }

    /** Queue length, dispatch latency and worker draining; default {@link DispatchView#of}. */
    public Builder dispatchView(DispatchView view) {
      if (dispatch != null) {
        throw new IllegalStateException("dispatchView was already set to " + dispatch);
      }
      this.dispatch = Objects.requireNonNull(view, "view");
      return this;
    }

    /** Events buffered per stream before a slow client loses some; default 4096. */
    public Builder eventQueueSize(int size) {
      once(eventQueueSet, "eventQueueSize", eventQueueSize);
      if (size < 16) {
        throw new IllegalArgumentException("eventQueueSize must be at least 16 but was " + size);
      }
      this.eventQueueSize = size;
      this.eventQueueSet = true;
      return this;
    }

    /** Jetty's thread pool size; default 32 (event streams do not hold a thread). */
    public Builder maxThreads(int threads) {
      once(maxThreadsSet, "maxThreads", maxThreads);
      if (threads < 4) {
        throw new IllegalArgumentException("maxThreads must be at least 4 but was " + threads);
      }
      this.maxThreads = threads;
      this.maxThreadsSet = true;
      return this;
    }

    /**
     * Cache entries up to this size are packed into segment files (see {@code PackStore}); 0
     * stores every entry as files of its own. Not public: for tests of the file format.
     */
    Builder packedEntryBytes(int max) {
      this.packedEntryBytes = max;
      return this;
    }

    /** The clock for cache statistics and event times. */
    public Builder clock(Clock clock) {
      once(clockSet, "clock", this.clock);
      this.clock = Objects.requireNonNull(clock, "clock");
      this.clockSet = true;
      return this;
    }

    /**
     * Starts the server; blocks until it listens.
     *
     * @throws IllegalStateException if neither a token nor open reads were configured (nothing
     *     but the probes would answer)
     * @throws BuildNetException if the port cannot be bound
     */
    public BuildNetHttp start() {
      if (token == null && !openReads) {
        throw new IllegalStateException("configure token(...) or tokenFile(...), or openReads(true)"
            + " for a read-only API: without either only /health and /ready would answer");
      }
      return new BuildNetHttp(this);
    }

    private static void once(boolean set, String what, Object current) {
      if (set) {
        throw new IllegalStateException(what + " was already set to " + current);
      }
    }
  }
}
