package dev.buildnet.http;

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
        // Selecting a target shows its log.
        cdp.evaluate(waitFor("document.querySelector('li[data-target=\"lib\"]')",
            "(document.querySelector('li[data-target=\"lib\"]').click(), 'clicked')"));
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

  /** Headless Chromium showing {@code page}, with DevTools on a port it prints to stderr. */
  static Process launch(Path browser, Path profile, String page) throws IOException {
    return new ProcessBuilder(browser.toString(), "--headless=new", "--no-sandbox",
        "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-port=0",
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

    private JsonNode evaluateOnce(String expression) throws Exception {
      int id = ids.incrementAndGet();
      CompletableFuture<JsonNode> reply = new CompletableFuture<>();
      calls.put(id, reply);
      ObjectNode msg = Http.JSON.createObjectNode();
      msg.put("id", id);
      msg.put("method", "Runtime.evaluate");
      msg.putObject("params").put("expression", expression).put("awaitPromise", true)
          .put("returnByValue", true);
      ws.sendText(msg.toString(), true).get(10, TimeUnit.SECONDS);
      try {
        return reply.get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("the dashboard did not reach: " + expression, e);
      }
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
