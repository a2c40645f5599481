package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * End to end in headless Chromium, driven over the DevTools protocol with the JDK's WebSocket
 * client: a build submitted through the API appears on the dashboard and completes there. Fails
 * (never skips) when Chromium is missing: CI installs Debian's {@code chromium} package.
 */
class DashboardBrowserTest {
  private static final Pattern DEVTOOLS = Pattern.compile("DevTools listening on (ws://\\S+)");

  static Path chromium() {
    String configured = System.getenv("BUILDNET_CHROMIUM");
    for (String c : new String[] {configured, "/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
      if (c != null && Files.isExecutable(Path.of(c))) {
        return Path.of(c);
      }
    }
    return fail("Chromium is needed for the dashboard test but was not found at /usr/bin/chromium "
        + "(or $BUILDNET_CHROMIUM): apt-get install -y chromium");
  }

  @Test
  void buildSubmittedThroughTheApi_appearsAndCompletesOnTheDashboard() throws Exception {
    Path browser = chromium();
    Path profile = Files.createTempDirectory("buildnet-chromium-");
    Process p = null;
    try (Fixture f = Fixture.withToken()) {
      String page = f.http.uri() + "#token=" + Fixture.TOKEN;
      p = launch(browser, profile, page);
      try (Cdp cdp = Cdp.connect(p)) {
        // The page has loaded and its event WebSocket is live before the build starts.
        assertEquals("live", cdp.evaluate(waitFor(
            "document.getElementById('conn').textContent === 'live'", "'live'")));
        String id = f.submit("app");
        String sel = "document.querySelector('li[data-build-id=\"" + id + "\"]')";
        assertEquals("100", cdp.evaluate(waitFor(
            sel + "?.dataset.status === 'succeeded'", sel + ".dataset.progress")));
        assertEquals("succeeded", f.awaitFinished(id));
        // A build the host submits in-process shows as such, with what it asked for.
        String hostBuild = f.net.build("lib").result().get(30, java.util.concurrent.TimeUnit.SECONDS)
            .buildId();
        String hostRow = "document.querySelector('li[data-build-id=\"" + hostBuild + "\"]')";
        assertEquals("api", cdp.evaluate(waitFor(hostRow + "?.dataset.status === 'succeeded'",
            hostRow + ".querySelector('.origin').textContent")));
        assertEquals("lib", cdp.evaluate(hostRow + ".querySelector('.build-targets').textContent"));
        cdp.evaluate("(" + sel + ".click(), 'ok')");
        // Selecting a target shows its log.
        cdp.evaluate(waitFor("document.querySelector('#targets tr[data-target=\"lib\"]')",
            "(document.querySelector('#targets tr[data-target=\"lib\"]').click(), 'clicked')"));
        String log = cdp.evaluate(waitFor(
            "document.getElementById('log').textContent.includes('hi from lib')",
            "document.getElementById('log').textContent"));
        assertTrue(log.contains("hi from lib"), log);
        // The cache sampler has drawn at least one point.
        assertTrue(cdp.evaluate(waitFor("document.getElementById('ratio-now').textContent.length > 0",
            "document.getElementById('ratio-now').textContent")).contains("hits"));
      }
    } finally {
      stop(p, profile);
    }
  }

  /**
   * Signing in through the form (no token in any URL), a connected worker listed, a build row
   * naming its targets with a start time and duration, the timeline, and a target's page with its
   * cache key and log. Screenshots go to {@code target/dashboard-screenshots/} (the ones in
   * {@code docs/dashboard/} were taken this way).
   */
  @Test
  void signInThroughTheForm_thenWorkersBuildsTimelineAndTargetPageShow() throws Exception {
    Path browser = chromium();
    Path profile = Files.createTempDirectory("buildnet-chromium-");
    Path shots = Files.createDirectories(Path.of("target", "dashboard-screenshots"));
    Process p = null;
    try (Fixture f = new Fixture(
        n -> n.listen(new java.net.InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(WorkersTest.SECRET)),
        h -> h.token(Fixture.TOKEN))) {
      // The build runs before any worker connects, so it runs here (the worker moves no blobs).
      String id = f.submit("app");
      assertEquals("succeeded", f.awaitFinished(id));
      p = launch(browser, profile, f.http.uri().toString());
      try (Cdp cdp = Cdp.connect(p)) {
        assertEquals("form", cdp.evaluate(waitFor(
            "!document.getElementById('login').hidden", "'form'")));
        // Nothing but the form shows (the CSS must not override the hidden attribute).
        assertEquals("none", cdp.evaluate("getComputedStyle(document.getElementById('dash')).display"));
        cdp.screenshot(shots.resolve("login.png"));
        // A wrong token is refused on the form.
        cdp.evaluate("(document.getElementById('token-input').value = 'wrong',"
            + " document.getElementById('login').requestSubmit(), 'sent')");
        assertTrue(cdp.evaluate(waitFor("!document.getElementById('login-error').hidden",
            "document.getElementById('login-error').textContent")).contains("not accepted"));
        cdp.evaluate("(document.getElementById('token-input').value = '" + Fixture.TOKEN + "',"
            + " document.getElementById('login').requestSubmit(), 'sent')");
        assertEquals("live", cdp.evaluate(waitFor(
            "document.getElementById('conn').textContent === 'live'", "'live'")));
        assertEquals("none", cdp.evaluate("getComputedStyle(document.getElementById('login')).display"));
        assertEquals(Fixture.TOKEN, cdp.evaluate("sessionStorage.getItem('buildnet-token')"));
        assertTrue(!cdp.evaluate("location.href").contains(Fixture.TOKEN));

        int port = AddOns.master(f.net).orElseThrow().localAddress().getPort();
        try (dev.buildnet.worker.Worker worker = dev.buildnet.worker.Worker.builder()
            .master("127.0.0.1", port).transport(TransportSettings.ofSecret(WorkersTest.SECRET)).workerId("w-browser")
            .capabilities(java.util.List.of("sh")).cpuSlots(4).memoryMb(1024)
            .workDir(Files.createDirectories(f.workspace.resolve("worker")))
            .reconnectBackoff(java.time.Duration.ofMillis(20), java.time.Duration.ofMillis(200))
            .blobs(new WorkersTest.NoBlobs()).build().connect()) {
          // The worker_joined event refreshes the panel: the row appears and the "none" text goes.
          assertEquals("w-browser", cdp.evaluate(waitFor(
              "document.querySelector('#workers tr[data-worker=\"w-browser\"]')"
                  + " && document.getElementById('no-workers').hidden",
              "document.querySelector('#workers tr[data-worker=\"w-browser\"]').dataset.worker")));

          String row = "document.querySelector('li[data-build-id=\"" + id + "\"]')";
          String text = cdp.evaluate(waitFor(row + "?.dataset.status === 'succeeded'", row + ".textContent"));
          assertTrue(text.contains("started ") && text.contains("took ")
              && text.contains("2/2 targets"), text);
          // The row names the requested target, not its closure, and who submitted it: this
          // test's HTTP client (tokens have no names, so its address).
          assertEquals("app", cdp.evaluate(row + ".querySelector('.build-targets').textContent"));
          String origin = cdp.evaluate(row + ".querySelector('.origin').textContent");
          assertTrue(origin.matches("http 127\\.0\\.0\\.1:\\d+"), origin);
          // So does the build's page, with the size of the closure.
          assertEquals(origin, cdp.evaluate(waitFor(
              "document.getElementById('build-origin').textContent.length > 0",
              "document.getElementById('build-origin').textContent")));
          assertEquals("app", cdp.evaluate("document.getElementById('build-requested').textContent"));
          assertEquals("2", cdp.evaluate("document.getElementById('build-closure').textContent"));
          // The timeline has a bar per target that ran, in the lane of where it ran.
          assertEquals("2", cdp.evaluate(waitFor(
              "document.querySelectorAll('#timeline .gbar').length === 2",
              "document.querySelectorAll('#timeline .gbar').length")));
          assertEquals("this machine", cdp.evaluate(
              "document.querySelector('#timeline .lane').dataset.lane"));
          String libDuration = cdp.evaluate(
              "document.querySelector('#targets tr[data-target=\"lib\"] .duration').textContent");
          assertTrue(libDuration.matches("\\d+(\\.\\d)? m?s"), libDuration);
          cdp.screenshot(shots.resolve("overview.png"));

          // Clicking lib's bar opens its page: key, reason and the kept log.
          cdp.evaluate("(document.querySelector('#timeline .gbar[data-target=\"lib\"]').click(), 'ok')");
          String log = cdp.evaluate(waitFor(
              "document.getElementById('log').textContent.includes('hi from lib')",
              "document.getElementById('log').textContent"));
          assertTrue(log.contains("hi from lib"), log);
          String key = Fixture.json(f.get("/api/builds/" + id)).get("targetList").get(0).get("key").asText();
          assertEquals(key, cdp.evaluate(waitFor(
              "document.querySelector('#target-facts dd[data-fact=\"Cache key\"]')",
              "document.querySelector('#target-facts dd[data-fact=\"Cache key\"]').textContent")));
          assertEquals("lib", cdp.evaluate("document.getElementById('target-name').textContent"));
          assertTrue(cdp.evaluate(waitFor("document.getElementById('explain').textContent.length > 0",
              "document.getElementById('explain').textContent")).startsWith("lib: cache miss"));
          assertEquals("lib.txt", cdp.evaluate(waitFor(
              "document.querySelector('#target-facts dd[data-fact=\"Outputs\"]')",
              "document.querySelector('#target-facts dd[data-fact=\"Outputs\"]').textContent")));
          cdp.screenshot(shots.resolve("target.png"));
        }
        // Signing out forgets the token and shows the form again.
        cdp.evaluate("(document.getElementById('signout').click(), 'ok')");
        assertEquals("null", cdp.evaluate(waitFor("!document.getElementById('login').hidden",
            "sessionStorage.getItem('buildnet-token')")));
      }
    } finally {
      stop(p, profile);
    }
  }

  /** Headless Chromium showing {@code page}, with DevTools on a port it prints to stderr. */
  static Process launch(Path browser, Path profile, String page) throws IOException {
    return new ProcessBuilder(browser.toString(), "--headless=new", "--no-sandbox",
        "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--window-size=1280,1500", "--remote-debugging-port=0",
        "--remote-allow-origins=*", "--user-data-dir=" + profile, page)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  /** Stops Chromium and its helpers, and removes its profile. */
  static void stop(Process p, Path profile) throws Exception {
    if (p != null) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    try (var all = Files.walk(profile)) {
      all.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
    }
  }

  /**
   * A page-side promise that resolves with {@code value} once {@code condition} holds: it re-checks
   * on every DOM change (a MutationObserver), so the test waits on the page's event, not a timer.
   */
  static String waitFor(String condition, String value) {
    return "new Promise(resolve => {"
        + " const check = () => { try { if (" + condition + ") { resolve(String(" + value + ")); return true; } } catch (e) {} return false; };"
        + " if (!check()) { const o = new MutationObserver(() => { if (check()) o.disconnect(); });"
        + " o.observe(document, {subtree: true, childList: true, attributes: true, characterData: true}); }"
        + "})";
  }

  /** The smallest DevTools-protocol client: Runtime.evaluate on the first page. */
  static final class Cdp implements WebSocket.Listener, AutoCloseable {
    private final Map<Integer, CompletableFuture<JsonNode>> calls = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final StringBuilder partial = new StringBuilder();
    private WebSocket ws;

    static Cdp connect(Process chromium) throws Exception {
      CompletableFuture<String> browserUrl = new CompletableFuture<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader err = new BufferedReader(
            new InputStreamReader(chromium.getErrorStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = err.readLine()) != null) {
            Matcher m = DEVTOOLS.matcher(line);
            if (m.find()) {
              browserUrl.complete(m.group(1));
            }
          }
          browserUrl.completeExceptionally(new IOException("chromium exited with " + chromium.waitFor()));
        } catch (IOException | InterruptedException e) {
          browserUrl.completeExceptionally(e);
        }
      }, "buildnet-test-chromium-stderr");
      reader.setDaemon(true);
      reader.start();
      URI browser = URI.create(browserUrl.get(30, TimeUnit.SECONDS));
      HttpClient client = HttpClient.newHttpClient();
      URI list = URI.create("http://" + browser.getAuthority() + "/json/list");
      String pageWs = null;
      for (JsonNode t : Http.JSON.readTree(client.send(HttpRequest.newBuilder(list).build(),
          HttpResponse.BodyHandlers.ofString()).body())) {
        if (t.path("type").asText().equals("page")) {
          pageWs = t.get("webSocketDebuggerUrl").asText();
        }
      }
      if (pageWs == null) {
        throw new AssertionError("chromium shows no page at " + list);
      }
      Cdp cdp = new Cdp();
      cdp.ws = client.newWebSocketBuilder().buildAsync(URI.create(pageWs), cdp).get(10, TimeUnit.SECONDS);
      return cdp;
    }

    /**
     * Evaluates {@code expression} (a promise is awaited) and returns its string value. When the
     * page navigates meanwhile (the first load), the evaluation is lost and is sent again.
     */
    String evaluate(String expression) throws Exception {
      for (int attempt = 1; ; attempt++) {
        JsonNode r = evaluateOnce(expression);
        boolean navigated = r.path("error").path("message").asText().contains("context was destroyed");
        if (navigated && attempt < 5) {
          continue;
        }
        if (r.has("error") || r.path("result").has("exceptionDetails")) {
          throw new AssertionError("evaluation failed: " + r);
        }
        return r.path("result").path("result").path("value").asText();
      }
    }

    /** Saves what the page shows, full height, as a PNG. */
    void screenshot(Path png) throws Exception {
      ObjectNode params = Http.JSON.createObjectNode();
      params.put("format", "png").put("captureBeyondViewport", true);
      JsonNode r = call("Page.captureScreenshot", params);
      if (!r.path("result").has("data")) {
        throw new AssertionError("no screenshot: " + r);
      }
      Files.write(png, java.util.Base64.getDecoder().decode(r.path("result").path("data").asText()));
    }

    private JsonNode evaluateOnce(String expression) throws Exception {
      ObjectNode params = Http.JSON.createObjectNode();
      params.put("expression", expression).put("awaitPromise", true).put("returnByValue", true);
      try {
        return call("Runtime.evaluate", params);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("the dashboard did not reach: " + expression, e);
      }
    }

    private JsonNode call(String method, ObjectNode params) throws Exception {
      int id = ids.incrementAndGet();
      CompletableFuture<JsonNode> reply = new CompletableFuture<>();
      calls.put(id, reply);
      ObjectNode msg = Http.JSON.createObjectNode();
      msg.put("id", id);
      msg.put("method", method);
      msg.set("params", params);
      ws.sendText(msg.toString(), true).get(10, TimeUnit.SECONDS);
      return reply.get(30, TimeUnit.SECONDS);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        try {
          JsonNode n = Http.JSON.readTree(partial.toString());
          CompletableFuture<JsonNode> call = n.has("id") ? calls.remove(n.get("id").asInt()) : null;
          if (call != null) {
            call.complete(n);
          }
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public void close() {
      if (ws != null) {
        ws.abort();
      }
    }
  }
}
