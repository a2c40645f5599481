package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildnet.BuildNet;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** A real BuildNet on a temp workspace with a tiny graph, and an HTTP front on a free port. */
final class Fixture implements AutoCloseable {
  static final String TOKEN = "test-token-0123456789abcdef";

  final Path workspace;
  final BuildNet net;
  final BuildNetHttp http;
  final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  Fixture(Consumer<BuildNetHttp.Builder> configure) throws IOException {
    this(net -> { }, configure);
  }

  Fixture(Consumer<BuildNet.Builder> engine, Consumer<BuildNetHttp.Builder> configure)
      throws IOException {
    this(StateBackend.inMemory(), engine, configure);
  }

  /** On {@code state}, which the caller closes after this fixture. */
  Fixture(StateBackend state, Consumer<BuildNet.Builder> engine,
      Consumer<BuildNetHttp.Builder> configure) throws IOException {
    this(state, List.of(
        Target.builder("lib").command("sh", "-c", "echo hi from lib; printf lib > lib.txt")
            .outputs("lib.txt").build(),
        Target.builder("app").command("sh", "-c", "echo building app; printf app > app.txt")
            .outputs("app.txt").dependsOn("lib").build(),
        Target.builder("fail").command("sh", "-c", "echo broken >&2; exit 3").build(),
        Target.builder("slow").command("sleep", "30").cacheable(false).build()), engine, configure);
  }

  /** With {@code targets} instead of the usual graph (e.g. ones with inputs, for a watch). */
  Fixture(StateBackend state, List<Target> targets, Consumer<BuildNet.Builder> engine,
      Consumer<BuildNetHttp.Builder> configure) throws IOException {
    workspace = Files.createTempDirectory("buildnet-http-");
    BuildNet.Builder nb = BuildNet.builder();
    engine.accept(nb);
    net = nb.workspace(workspace).state(state).localSlots(2).targets(targets).start();
    BuildNetHttp.Builder b = BuildNetHttp.attach(net).port(0);
    try {
      configure.accept(b);
      http = b.start();
    } catch (RuntimeException e) {
      net.close();
      deleteTree(workspace);
      throw e;
    }
  }

  static Fixture withToken() throws IOException {
    return new Fixture(b -> b.token(TOKEN));
  }

  URI uri(String path) {
    return http.uri().resolve(path);
  }

  HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
  }

  HttpRequest.Builder authed(String path) {
    return request(path).header("Authorization", "Bearer " + TOKEN);
  }

  HttpResponse<String> send(HttpRequest.Builder r) throws IOException, InterruptedException {
    return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return send(authed(path).GET());
  }

  HttpResponse<String> postJson(String path, String json) throws IOException, InterruptedException {
    return send(authed(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  static JsonNode json(HttpResponse<String> r) throws IOException {
    return Http.JSON.readTree(r.body());
  }

  /** Submits through the API and returns the build id. */
  String submit(String... targets) throws Exception {
    String body = Http.JSON.writeValueAsString(java.util.Map.of("targets", List.of(targets)));
    HttpResponse<String> r = postJson("/api/builds", body);
    assertEquals(202, r.statusCode(), r.body());
    return json(r).get("id").asText();
  }

  /** Completes with the build's final status (waits on the history's event, not by polling). */
  CompletableFuture<String> finished(String buildId) {
    CompletableFuture<String> done = new CompletableFuture<>();
    BuildHistory.Subscription sub = AddOns.history(net).subscribe(buildId, false, true, e -> {
      if (e instanceof BuildEvent.BuildFinished f) {
        done.complete(f.status().wireName());
      }
    });
    done.whenComplete((s, t) -> sub.close());
    return done;
  }

  String awaitFinished(String buildId) throws Exception {
    return finished(buildId).get(20, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws IOException {
    http.close();
    net.close();
    deleteTree(workspace);
  }

  static void deleteTree(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
