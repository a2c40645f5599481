package dev.buildnet.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.pathmap.PathSpec;
import org.eclipse.jetty.http.pathmap.RegexPathSpec;
import org.eclipse.jetty.http.pathmap.UriTemplatePathSpec;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One JSON API route: a path template and what each method does there. It always answers, exactly
 * once: a method it does not serve is 404 "no such endpoint" like an unknown path (or 405 where
 * {@link #otherMethods} says so), a POST or PUT body is read through Jetty's demand model first
 * (no thread waits for a slow client), and the call's result, or its {@link HttpError}, is written
 * as JSON. Calls block (the state backend, the engine), which is what the route table declares.
 */
final class Endpoint extends Handler.Abstract {
  /** The call: path parameters and the request body (empty for GET and DELETE) to an answer. */
  @FunctionalInterface
  interface Call {
    Object answer(Params p) throws Exception;
  }

  /** What a call gets: the path's parameters by name, the request and its body. */
  record Params(Map<String, String> path, Request request, byte[] body) {
    String get(String name) {
      return path.get(name);
    }
  }

  private record Op(int status, Call call) {}

  private static final byte[] NO_BODY = new byte[0];
  private static final Pattern VARIABLE = Pattern.compile("\\{(\\w+)}");

  final String template;
  final PathSpec spec;
  private final List<String> names = new ArrayList<>();
  private final Map<String, Op> ops = new HashMap<>();
  private final long maxBodyBytes;
  private String allowed;

  /** A route whose {@code {name}} variables each match one path segment. */
  Endpoint(String template, long maxBodyBytes) {
    this(template, new UriTemplatePathSpec(template), maxBodyBytes);
  }

  /**
   * A route matched by {@code regex}, for parameters that may hold '/' (target names, state
   * keys): its named groups are the template's variables.
   */
  Endpoint(String template, String regex, long maxBodyBytes) {
    this(template, new RegexPathSpec(regex), maxBodyBytes);
  }

  private Endpoint(String template, PathSpec spec, long maxBodyBytes) {
    this.template = template;
    this.spec = spec;
    this.maxBodyBytes = maxBodyBytes;
    Matcher m = VARIABLE.matcher(template);
    while (m.find()) {
      names.add(m.group(1));
    }
  }

  /** Serves {@code method} (GET serves HEAD too) with {@code call}, answering {@code status}. */
  Endpoint on(HttpMethod method, int status, Call call) {
    ops.put(method.asString(), new Op(status, call));
    return this;
  }

  /** Other methods get 405 naming {@code allowed} instead of 404. */
  Endpoint otherMethods(String allowed) {
    this.allowed = allowed;
    return this;
  }

  RouteTable.Route route() {
    return new RouteTable.Route(template, spec, this);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String method = request.getMethod();
    Op op = ops.get(HttpMethod.HEAD.is(method) ? HttpMethod.GET.asString() : method);
    if (op == null) {
      HttpError e = allowed != null ? Http.methodNotAllowed(request, allowed)
          : Http.notFound("no such endpoint: " + method + " "
              + Http.clip(Request.getPathInContext(request)),
              "see docs/HTTP.md for the endpoints and methods");
      Http.error(response, callback, e.status, e.code, e.getMessage(), e.hint);
      return true;
    }
    if (!HttpMethod.POST.is(method) && !HttpMethod.PUT.is(method)) {
      answer(op, request, response, callback, NO_BODY);
      return true;
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    new BodyReader(request, maxBodyBytes) {
      @Override
      protected void onBytes(ByteBuffer bytes) {
        if (bytes.hasArray()) {
          body.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
        } else {
          byte[] b = new byte[bytes.remaining()];
          bytes.get(b);
          body.writeBytes(b);
        }
      }

      @Override
      protected void onEnd(long length) {
        answer(op, request, response, callback, body.toByteArray());
      }

      @Override
      protected void onTooLarge() {
        HttpError e = Http.tooLarge(maxBodyBytes);
        Http.error(response, callback, e.status, e.code, e.getMessage(), e.hint);
      }

      @Override
      protected void onFailure(Throwable failure, long afterBytes) {
        // The client went away or stalled past the idle timeout: there is no one to answer, and
        // failing the callback lets Jetty close the connection.
        callback.failed(failure);
      }
    }.start();
    return true;
  }

  private void answer(Op op, Request request, Response response, Callback callback, byte[] body) {
    Http.handled(response, callback, () -> {
      Object out = op.call().answer(new Params(params(request), request, body));
      Http.json(response, callback, op.status(), out);
    });
  }

  private Map<String, String> params(Request request) {
    if (names.isEmpty()) {
      return Map.of();
    }
    String path = Request.getPathInContext(request);
    if (spec instanceof UriTemplatePathSpec t) {
      return t.getPathParams(path);
    }
    Matcher m = ((RegexPathSpec) spec).getPattern().matcher(path);
    Map<String, String> p = new HashMap<>();
    if (m.matches()) {
      for (String n : names) {
        p.put(n, m.group(n));
      }
    }
    return p;
  }
}
