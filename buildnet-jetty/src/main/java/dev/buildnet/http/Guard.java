package dev.buildnet.http;

import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The checks every request passes before routing, in this order: the {@code Host} header names an
 * allowed host (421 otherwise: a page on another origin that rebinds its DNS name to 127.0.0.1 must
 * not reach the API), CORS only for configured origins, then the token where the endpoint needs it
 * (401, or 403 when no token is configured and the request would mutate).
 */
final class Guard extends Handler.Wrapper {
  private final Auth auth;
  private final Set<String> hosts;
  private final Set<String> corsOrigins;

  Guard(Handler next, Auth auth, Set<String> hosts, Set<String> corsOrigins) {
    super(next);
    this.auth = auth;
    this.hosts = hosts;
    this.corsOrigins = corsOrigins;
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
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    if (!corsOrigins.isEmpty() && cors(request, response, callback, method)) {
      return true;
    }
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
    for (String h : hosts) {
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

  /** Adds CORS headers for an allowed origin; answers preflights. Returns whether it answered. */
  private boolean cors(Request request, Response response, Callback callback, String method) {
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (origin == null || !corsOrigins.contains(origin)) {
      return false;
    }
    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    response.getHeaders().put(HttpHeader.VARY, "Origin");
    if (HttpMethod.OPTIONS.is(method)
        && request.getHeaders().get(HttpHeader.ACCESS_CONTROL_REQUEST_METHOD) != null) {
      response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS,
          "GET, HEAD, POST, PUT, DELETE");
      response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS,
          "Authorization, Content-Type");
      response.getHeaders().put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "600");
      response.setStatus(204);
      callback.succeeded();
      return true;
    }
    return false;
  }
}
