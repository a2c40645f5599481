package dev.buildnet.http;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.CrossOriginHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The checks every request passes before routing, in this order: the {@code Host} header names an
 * allowed host (421 otherwise: a page on another origin that rebinds its DNS name to 127.0.0.1 must
 * not reach the API), CORS for configured origins only (Jetty's {@link CrossOriginHandler}, which
 * answers their preflights), then the token where the endpoint needs it (401, or 403 when no token
 * is configured and the request would mutate).
 *
 * <p>Only requests whose {@code Origin} is a configured one go through the CORS handler: any other
 * request, a preflight from another origin included, meets the token check exactly as without CORS.
 */
final class Guard extends Handler.Wrapper {
  private final Auth auth;
  private final Set<String> hosts;
  /** The same names as {@link #hosts}, for a lookup that hashes nothing (see allowedHost). */
  private final String[] hostNames;
  private final Set<String> corsOrigins;
  /** Null without configured origins. */
  private final CrossOriginHandler cors;

  Guard(Handler next, Auth auth, Set<String> hosts, Set<String> corsOrigins) {
    super(next);
    this.auth = auth;
    this.hosts = hosts;
    this.hostNames = hosts.toArray(new String[0]);
    this.corsOrigins = corsOrigins;
    if (corsOrigins.isEmpty()) {
      this.cors = null;
    } else {
      cors = new CrossOriginHandler();
      Set<String> patterns = new LinkedHashSet<>();
      corsOrigins.forEach(o -> patterns.add(Pattern.quote(o)));
      cors.setAllowedOriginPatterns(patterns);
      cors.setAllowedMethods(Set.of("GET", "HEAD", "POST", "PUT", "DELETE"));
      cors.setAllowedHeaders(Set.of("Authorization", "Content-Type"));
      cors.setPreflightMaxAge(Duration.ofSeconds(600));
      cors.setAllowCredentials(false); // the token travels in a header, never as a cookie
      // Preflights are answered by the CORS handler; everything else goes on to the token check.
      cors.setHandler(new Handler.Abstract(InvocationType.BLOCKING) {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
          return authorizeThenRoute(request, response, callback);
        }
      });
      addBean(cors, true);
    }
  }

  @Override
  public void setServer(Server server) {
    super.setServer(server);
    if (cors != null) {
      cors.setServer(server);
    }
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    String host = request.getHttpURI().getHost();
    if (!allowedHost(host)) {
      Http.error(response, callback, 421, "host_not_allowed",
          "Host '" + Http.clip(host) + "' is not one this server answers to",
          "use one of " + hosts + ", or add the name with allowedHosts(...)");
      return true;
    }
    if (cors != null) {
      String origin = request.getHeaders().get(HttpHeader.ORIGIN);
      if (origin != null && corsOrigins.contains(origin)) {
        return cors.handle(request, response, callback);
      }
    }
    return authorizeThenRoute(request, response, callback);
  }

  private boolean authorizeThenRoute(Request request, Response response, Callback callback)
      throws Exception {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    boolean safe = HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method);
    if (safe && (isPublic(path) || auth.openReads())) {
      return super.handle(request, response, callback);
    }
    if (!safe && !auth.hasToken()) {
      Http.error(response, callback, 403, "read_only",
          method + " " + Http.clip(path) + " changes something and this server has no token configured",
          "start the server with a token to allow builds, state changes and cache uploads");
      return true;
    }
    if (!auth.authorized(request)) {
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"buildnet\"");
      Http.error(response, callback, 401, "unauthorized",
          "missing or wrong token for " + method + " " + Http.clip(path),
          "send 'Authorization: Bearer <token>'");
      return true;
    }
    return super.handle(request, response, callback);
  }

  private boolean allowedHost(String host) {
    if (host == null) {
      return false;
    }
    // The Host is a new string on every request, so a set lookup would hash it each time; the
    // list is a handful of names, and equals() stops at the first differing length or byte.
    for (String h : hostNames) {
      if (h.equals(host)) {
        return true; // the usual case, exact (the allowed names are lower case)
      }
    }
    for (String h : hostNames) {
      if (h.equalsIgnoreCase(host)) {
        return true;
      }
    }
    return false;
  }

  /** Probes and the dashboard's static files, which hold no data. */
  static boolean isPublic(String path) {
    return path.equals("/health") || path.equals("/ready") || path.equals("/")
        || path.startsWith("/dashboard/");
  }
}
