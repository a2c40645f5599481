package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Holds {@code docs/openapi.yaml} to the implementation: every documented operation is routed
 * (answered with one of its documented statuses) and every route is documented.
 *
 * <p>The route table and the endpoints answer an unknown route or method with 404 {@code not_found}, the same code
 * as an unknown build or key; only the message tells them apart ("no such endpoint: ..."), so that
 * is what {@link #unrouted} looks at.
 */
class OpenApiTest {
  /**
   * Every operation the implementation serves: the paths come from the route table itself
   * ({@link #everyRouterPathIsDocumented}: one URI template per endpoint), but the methods each
   * endpoint's handler serves are not exposed, so they are listed here. Keep in sync with
   * Api.routes(), CacheHandlers.java and Routes.java.
   */
  static final Set<String> IMPLEMENTED = new TreeSet<>(List.of(
      "GET /health", "GET /ready", "GET /metrics", "GET /events", "GET /ws",
      "GET /api/builds", "POST /api/builds", "GET /api/builds/{id}",
      "POST /api/builds/{id}/cancel", "GET /api/builds/{id}/targets/{target}/log",
      "GET /api/targets", "GET /api/targets/{target}/explain", "GET /api/workers", "POST /api/workers/{id}/drain",
      "GET /api/cache", "GET /api/peers", "GET /api/watch", "POST /api/ticket",
      "GET /api/state", "GET /api/state/{key}", "PUT /api/state/{key}", "DELETE /api/state/{key}",
      "POST /api/locks/{resource}", "POST /api/locks/{resource}/acquire",
      "POST /api/locks/{resource}/renew", "POST /api/locks/{resource}/release",
      "GET /cache/{key}", "HEAD /cache/{key}", "PUT /cache/{key}",
      "GET /ac/{hash}", "HEAD /ac/{hash}", "PUT /ac/{hash}",
      "GET /cas/{sha256}", "HEAD /cas/{sha256}", "PUT /cas/{sha256}",
      "GET /", "GET /dashboard/{file}"));

  /** Sample path parameters: none names anything that exists, except the dashboard file. */
  static final Map<String, String> SAMPLES = Map.of(
      "id", "no-such-id", "target", "dir/lib", "key", "team.k1", "resource", "r1",
      "hash", "0".repeat(64), "sha256", "0".repeat(64), "file", "app.js");

  /** One documented operation with its documented status codes. */
  record Operation(String method, String path, Set<Integer> statuses) {
    String id() {
      return method + " " + path;
    }
  }

  static Fixture f;
  static List<Operation> documented;

  @BeforeAll
  static void start() throws IOException {
    documented = parse(Files.readAllLines(spec(), StandardCharsets.UTF_8));
    f = Fixture.withToken();
  }

  @AfterAll
  static void stop() throws IOException {
    if (f != null) {
      f.close();
    }
  }

  static Path spec() {
    for (Path p : List.of(Path.of("../docs/openapi.yaml"), Path.of("docs/openapi.yaml"))) {
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalStateException("docs/openapi.yaml not found from " + Path.of("").toAbsolutePath());
  }

  /**
   * HTTP.md is what people read; openapi.yaml is what tools read. A path only the YAML names (as
   * {@code /api/locks/{resource}/acquire} once was) is one a reader of HTTP.md never learns of.
   */
  @Test
  void everyDocumentedPath_isAlsoInHttpMd() throws IOException {
    Path httpMd = spec().resolveSibling("HTTP.md");
    String text = Files.readString(httpMd, StandardCharsets.UTF_8);
    Set<String> missing = new TreeSet<>();
    for (Operation op : documented) {
      if (!text.contains(op.path())) {
        missing.add(op.path());
      }
    }
    assertTrue(missing.isEmpty(), "openapi.yaml paths that docs/HTTP.md never names: " + missing);
  }

  private static final Pattern PATH = Pattern.compile("^  (/\\S*):\\s*$");
  private static final Pattern METHOD = Pattern.compile("^    (get|put|post|delete|head|patch|options):.*$");
  private static final Pattern STATUS = Pattern.compile("^        '(\\d{3})':.*$");

  /**
   * A line scan of the {@code paths:} block as the file is written: paths indented 2, methods 4,
   * status codes 8 (under {@code responses:}). No YAML library is on the classpath.
   */
  static List<Operation> parse(List<String> lines) {
    List<Operation> ops = new ArrayList<>();
    boolean inPaths = false;
    String path = null;
    String method = null;
    Set<Integer> statuses = null;
    for (String line : lines) {
      if (!line.isEmpty() && !Character.isWhitespace(line.charAt(0))) {
        inPaths = line.equals("paths:");
        continue;
      }
      if (!inPaths) {
        continue;
      }
      Matcher m;
      if ((m = PATH.matcher(line)).matches()) {
        path = m.group(1);
        method = null;
      } else if ((m = METHOD.matcher(line)).matches()) {
        method = m.group(1).toUpperCase(Locale.ROOT);
        statuses = new TreeSet<>();
        ops.add(new Operation(method, path, statuses));
      } else if (method != null && (m = STATUS.matcher(line)).matches()) {
        statuses.add(Integer.parseInt(m.group(1)));
      }
    }
    return ops;
  }

  static String concrete(String template) {
    Matcher m = Pattern.compile("\\{(\\w+)}").matcher(template);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      String sample = SAMPLES.get(m.group(1));
      if (sample == null) {
        throw new IllegalStateException("no sample value for {" + m.group(1) + "} in " + template);
      }
      m.appendReplacement(b, Matcher.quoteReplacement(sample));
    }
    return m.appendTail(b).toString();
  }

  record Answer(int status, String contentType, String body) {}

  /** Sends {@code method path} with the token; does not wait for an event stream's body. */
  static Answer call(String method, String path) throws Exception {
    HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.noBody();
    HttpRequest.Builder r = f.authed(path);
    if (method.equals("POST") || method.equals("PUT")) {
      boolean json = path.startsWith("/api/");
      body = HttpRequest.BodyPublishers.ofString(json ? "{}" : "x");
      r.header("Content-Type", json ? "application/json" : "application/octet-stream");
    }
    HttpResponse<InputStream> resp = f.client.send(r.method(method, body).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    String type = resp.headers().firstValue("Content-Type").orElse("");
    try (InputStream in = resp.body()) {
      // An SSE stream never ends by itself: the status and type are the answer.
      String text = type.startsWith("text/event-stream") ? ""
          : new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return new Answer(resp.statusCode(), type, text);
    }
  }

  /** Whether the answer is the router's (or Api's) "no such endpoint", not a missing entity. */
  static boolean unrouted(Answer a) throws IOException {
    if (a.status() != 404 || !a.contentType().startsWith("application/json")) {
      return false;
    }
    JsonNode n = Http.JSON.readTree(a.body());
    String error = n.path("error").asText();
    return n.path("code").asText().equals("not_found")
        && (error.startsWith("no such endpoint") || error.startsWith("no endpoint at")
            || error.startsWith("no lock action"));
  }

  @Test
  void theSpecListsOperations() {
    assertTrue(documented.size() > 20, "parsed too few operations: " + documented);
    for (Operation op : documented) {
      assertFalse(op.statuses().isEmpty(), op.id() + " documents no status codes");
    }
  }

  @Test
  void unknownRoutesAreToldApartFromUnknownEntities() throws Exception {
    assertTrue(unrouted(call("GET", "/nope")));
    assertTrue(unrouted(call("GET", "/api/nope")));
    assertTrue(unrouted(call("POST", "/api/builds/x/nope")));
    // Api checks the lock body's owner before the action, so this one needs a valid body.
    HttpResponse<String> lock = f.postJson("/api/locks/r1/nope", "{\"owner\": \"t\"}");
    assertTrue(unrouted(new Answer(lock.statusCode(),
        lock.headers().firstValue("Content-Type").orElse(""), lock.body())), lock.body());
    assertFalse(unrouted(call("GET", "/api/builds/no-such-id")));
    assertFalse(unrouted(call("GET", "/api/state/no-such-key")));
  }

  @Test
  void everyDocumentedOperationIsRoutedAndAnswersADocumentedStatus() throws Exception {
    List<String> wrong = new ArrayList<>();
    for (Operation op : documented) {
      String path = concrete(op.path());
      if (op.path().equals("/ws")) {
        URI ws = URI.create("ws" + f.uri("/ws?replay=false").toString().substring(4));
        WebSocket socket = f.client.newWebSocketBuilder()
            .header("Authorization", "Bearer " + Fixture.TOKEN)
            .buildAsync(ws, new WebSocket.Listener() { }).get(10, TimeUnit.SECONDS);
        socket.abort(); // the upgrade succeeded: 101, as documented
        assertTrue(op.statuses().contains(101), "/ws documents 101");
        continue;
      }
      Answer a = call(op.method(), op.path().equals("/events") ? path + "?replay=false" : path);
      if (unrouted(a)) {
        wrong.add(op.id() + " (" + op.method() + " " + path + ") is not routed: " + a.body());
      } else if (!op.statuses().contains(a.status())) {
        wrong.add(op.id() + " (" + op.method() + " " + path + ") answered " + a.status()
            + ", documented " + op.statuses() + ": " + a.body());
      }
    }
    assertEquals(List.of(), wrong);
  }

  @Test
  void everyImplementedOperationIsDocumentedAndNothingElse() {
    Set<String> doc = new TreeSet<>();
    documented.forEach(op -> doc.add(op.id()));
    Set<String> missing = new TreeSet<>(IMPLEMENTED);
    missing.removeAll(doc);
    Set<String> extra = new TreeSet<>(doc);
    extra.removeAll(IMPLEMENTED);
    assertEquals(Map.of("missing from docs/openapi.yaml", Set.of(), "not in IMPLEMENTED", Set.of()),
        new LinkedHashMap<>(Map.of("missing from docs/openapi.yaml", missing, "not in IMPLEMENTED", extra)));
  }

  @Test
  void everyRouterPathIsDocumented() {
    Set<String> docPaths = new TreeSet<>();
    documented.forEach(op -> docPaths.add(op.path()));
    Set<String> undocumented = new TreeSet<>();
    for (String route : f.http.routePaths()) {
      boolean covered = route.endsWith("/")
          ? docPaths.stream().anyMatch(p -> p.startsWith(route))
          : docPaths.contains(route);
      if (!covered) {
        undocumented.add(route);
      }
    }
    assertEquals(Set.of(), undocumented, "router paths with no path in docs/openapi.yaml");
    // And IMPLEMENTED names every router path, so it cannot lag behind Routes.builtIn.
    for (String route : f.http.routePaths()) {
      assertTrue(IMPLEMENTED.stream().anyMatch(op -> {
        String p = op.substring(op.indexOf(' ') + 1);
        return route.endsWith("/") ? p.startsWith(route) : p.equals(route);
      }), "IMPLEMENTED has nothing under router path " + route);
    }
  }
}
