package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.BuildFuture;
import dev.buildnet.Explanation;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.internal.events.BuildSnapshot;
import dev.buildnet.internal.events.EventJson;
import dev.buildnet.graph.Target;
import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.internal.peers.PeerBuilds;
import dev.buildnet.internal.watch.WatchCycles;
import dev.buildnet.internal.master.WorkerInfo;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;

/** The JSON API under {@code /api/} (see {@code docs/HTTP.md}). */
final class Api {
  private final Services s;

  Api(Services s) {
    this.s = s;
  }

  /**
   * The API's routes, one small handler per endpoint. Parameters that may hold '/' (target names,
   * state keys) are matched by a regular expression; the rest by URI templates.
   */
  List<RouteTable.Route> routes() {
    long max = s.maxBodyBytes;
    List<Endpoint> e = List.of(
        new Endpoint("/api/builds", max)
            .on(HttpMethod.GET, 200, p -> builds())
            .on(HttpMethod.POST, 202, p -> submit(Http.jsonBody(p.body()), p.request())),
        new Endpoint("/api/builds/{id}", max).on(HttpMethod.GET, 200, p -> build(p.get("id"))),
        new Endpoint("/api/builds/{id}/cancel", max).on(HttpMethod.POST, 202, p -> cancel(p.get("id"))),
        new Endpoint("/api/builds/{id}/targets/{target}/log",
            "^/api/builds/(?<id>[^/]+)/targets/(?<target>.+)/log$", max)
            .on(HttpMethod.GET, 200, p -> log(p.get("id"), p.get("target"))),
        new Endpoint("/api/targets", max).on(HttpMethod.GET, 200, p -> targets()),
        new Endpoint("/api/targets/{target}/explain", "^/api/targets/(?<target>.+)/explain$", max)
            .on(HttpMethod.GET, 200, p -> explain(p.get("target"))),
        new Endpoint("/api/workers", max).on(HttpMethod.GET, 200, p -> workers()),
        new Endpoint("/api/workers/{id}/drain", max).on(HttpMethod.POST, 202, p -> drain(p.get("id"))),
        new Endpoint("/api/cache", max).on(HttpMethod.GET, 200, p -> cache()),
        new Endpoint("/api/ticket", max).on(HttpMethod.POST, 200,
            p -> Map.of("ticket", s.tickets.issue(), "expiresInSeconds", Tickets.TTL.toSeconds())),
        new Endpoint("/api/peers", max).on(HttpMethod.GET, 200, p -> peers()),
        new Endpoint("/api/watch", max).on(HttpMethod.GET, 200, p -> watch()),
        new Endpoint("/api/state", max).on(HttpMethod.GET, 200, this::stateKeys),
        // "/api/state/" (no key) lists the keys too, as it always did.
        new Endpoint("/api/state/{key}", "^/api/state/(?<key>.*)$", max)
            .on(HttpMethod.GET, 200, p -> p.get("key").isEmpty() ? stateKeys(p) : stateGet(p.get("key")))
            .on(HttpMethod.PUT, 200, p -> statePut(nonEmptyKey(p), Http.jsonBody(p.body())))
            .on(HttpMethod.DELETE, 200, p -> Map.of("key", nonEmptyKey(p),
                "deleted", s.net.state().delete(p.get("key"))))
            .otherMethods("GET, PUT or DELETE"),
        new Endpoint("/api/locks/{resource}", max).on(HttpMethod.POST, 200,
            p -> lock(p.get("resource"), "acquire", Http.jsonBody(p.body()))));
    List<RouteTable.Route> routes = new ArrayList<>();
    e.forEach(x -> routes.add(x.route()));
    for (String action : List.of("acquire", "renew", "release")) {
      routes.add(new Endpoint("/api/locks/{resource}/" + action, max).on(HttpMethod.POST, 200,
          p -> lock(p.get("resource"), action, Http.jsonBody(p.body()))).route());
    }
    return routes;
  }

  private Object stateKeys(Endpoint.Params p) {
    String prefix = Request.extractQueryParameters(p.request()).getValue("prefix");
    return Map.of("keys", s.net.state().keys(prefix == null ? "" : prefix));
  }

  private static String nonEmptyKey(Endpoint.Params p) {
    String key = p.get("key");
    if (key.isEmpty()) {
      Request r = p.request();
      throw Http.notFound("no such endpoint: " + r.getMethod() + " "
          + Http.clip(Request.getPathInContext(r)), "PUT and DELETE name a key: /api/state/{key}");
    }
    return key;
  }

  // ---- builds ----------------------------------------------------------------------------------

  private Object builds() {
    ArrayNode list = Http.JSON.createArrayNode();
    for (BuildSnapshot b : AddOns.history(s.net).builds()) {
      list.add(summary(b));
    }
    ObjectNode n = Http.JSON.createObjectNode();
    n.set("builds", list);
    return n;
  }

  private static ObjectNode summary(BuildSnapshot b) {
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("id", b.id());
    n.put("status", b.status());
    n.put("startedAt", b.startedAt().toString());
    n.put("finishedAt", iso(b.finishedAt()));
    if (b.finishedAt() != null) {
      n.put("durationMs", Duration.between(b.startedAt(), b.finishedAt()).toMillis());
    }
    n.put("targets", b.targets().size());
    ArrayNode names = n.putArray("targetNames");
    b.targets().forEach(t -> names.add(t.name()));
    ArrayNode requested = n.putArray("requested");
    b.requested().forEach(requested::add);
    n.set("origin", EventJson.origin(b.origin()));
    n.put("completed", b.completed());
    n.put("progress", b.targets().isEmpty() ? 1.0 : (double) b.completed() / b.targets().size());
    return n;
  }

  /** ISO-8601, or JSON null for a time not reached yet. */
  private static String iso(Instant t) {
    return t == null ? null : t.toString();
  }

  private Object build(String id) {
    BuildSnapshot b = AddOns.history(s.net).build(id).orElseThrow(() -> noBuild(id));
    ObjectNode n = summary(b);
    ArrayNode targets = n.putArray("targetList");
    BuildResult r = b.result();
    for (BuildSnapshot.TargetSnapshot t : b.targets()) {
      ObjectNode tn = targets.addObject();
      tn.put("name", t.name());
      tn.put("status", t.status());
      tn.put("attempt", t.attempt());
      tn.put("worker", t.worker());
      tn.put("startedAt", iso(t.startedAt()));
      tn.put("finishedAt", iso(t.finishedAt()));
      tn.put("logLines", t.logLines());
      if (t.startedAt() != null && t.finishedAt() != null) {
        tn.put("durationMs", Duration.between(t.startedAt(), t.finishedAt()).toMillis());
      }
      Optional<TargetOutcome> o = r == null ? Optional.empty() : r.target(t.name());
      o.ifPresent(outcome -> {
        tn.put("reason", outcome.reason());
        tn.put("exitCode", outcome.exitCode());
        tn.put("key", outcome.key());
        tn.put("durationMs", outcome.duration().toMillis());
        outcome.errors().forEach(e -> tn.withArray("errors").add(e.toString()));
      });
    }
    if (r != null) {
      n.put("success", r.success());
      n.set("metrics", metrics(r.metrics()));
      ArrayNode errors = n.putArray("errors");
      r.errors().forEach(e -> errors.add(e.toString()));
    }
    return n;
  }

  private static ObjectNode metrics(BuildMetrics m) {
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("queueWaitMs", m.queueWait().toMillis());
    n.put("totalMs", m.totalDuration().toMillis());
    ObjectNode p = n.putObject("phases");
    p.put("preBuildMs", m.phases().preBuild().toMillis());
    p.put("buildMs", m.phases().build().toMillis());
    p.put("postBuildMs", m.phases().postBuild().toMillis());
    ObjectNode c = n.putObject("cache");
    c.put("filesChecked", m.cache().filesChecked());
    c.put("hits", m.cache().hits());
    c.put("misses", m.cache().misses());
    c.put("hitRatio", m.cache().hitRatio());
    c.put("timeSavedMs", m.cache().timeSaved().toMillis());
    ObjectNode res = n.putObject("resources");
    res.put("peakMemoryBytes", m.resources().peakMemoryBytes());
    res.put("averageCpuPercent", m.resources().averageCpuPercent());
    res.put("ioReadBytes", m.resources().ioReadBytes());
    res.put("ioWriteBytes", m.resources().ioWriteBytes());
    return n;
  }

  private Object submit(JsonNode body, Request request) {
    JsonNode targets = body.get("targets");
    if (targets == null || !targets.isArray() || targets.isEmpty()) {
      throw Http.badRequest("'targets' must be a non-empty array of target names",
          "send e.g. {\"targets\": [\"app\"], \"keepGoing\": false}");
    }
    List<String> names = new ArrayList<>();
    for (JsonNode t : targets) {
      if (!t.isTextual()) {
        throw Http.badRequest("'targets' must hold strings, not " + t, "name targets as strings");
      }
      names.add(t.asText());
    }
    JsonNode kg = body.get("keepGoing");
    if (kg != null && !kg.isBoolean()) {
      throw Http.badRequest("'keepGoing' must be true or false", "omit it for the default (false)");
    }
    BuildFuture f;
    try {
      // Tokens have no names, so an HTTP build is known by where it came from.
      f = s.net.build(names, kg != null && kg.asBoolean(), BuildOrigin.http(null,
          remote(request)));
    } catch (InvalidGraphException e) {
      if (e.reason() != InvalidGraphException.Reason.UNKNOWN_TARGET) {
        throw e;
      }
      throw new HttpError(400, "unknown_target", e.getMessage(), "GET /api/targets lists the targets");
    } catch (IllegalStateException e) {
      throw new HttpError(503, "not_accepting", e.getMessage(),
          "this BuildNet is draining or closed; /ready says when it accepts work");
    }
    return Map.of("id", f.buildId(), "status", "running", "url", "/api/builds/" + f.buildId());
  }

  /** The client's {@code host:port} (IPv6 in brackets). */
  private static String remote(Request request) {
    String host = Request.getRemoteAddr(request);
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + Request.getRemotePort(request);
  }

  private Object cancel(String id) {
    if (s.net.cancel(id)) {
      return Map.of("id", id, "cancelling", true);
    }
    Optional<BuildSnapshot> b = AddOns.history(s.net).build(id);
    if (b.isEmpty()) {
      throw noBuild(id);
    }
    throw new HttpError(409, "already_finished", "build " + id + " already " + b.get().status(),
        "only running builds can be cancelled");
  }

  private Object log(String id, String target) {
    BuildSnapshot b = AddOns.history(s.net).build(id).orElseThrow(() -> noBuild(id));
    if (b.targets().stream().noneMatch(t -> t.name().equals(target))) {
      throw Http.notFound("build " + id + " has no target '" + target + "'",
          "GET /api/builds/" + id + " lists its targets");
    }
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("buildId", id);
    n.put("target", target);
    ArrayNode lines = n.putArray("lines");
    for (BuildHistory.LogLine l : AddOns.history(s.net).log(id, target)) {
      ObjectNode ln = lines.addObject();
      ln.put("at", l.at().toString());
      ln.put("stream", l.stream().name().toLowerCase(Locale.ROOT));
      ln.put("line", l.line());
    }
    return n;
  }

  private static HttpError noBuild(String id) {
    return Http.notFound("no build '" + id + "' (running or among the recent ones kept)",
        "GET /api/builds lists the builds kept");
  }

  private Object targets() {
    ArrayNode list = Http.JSON.createArrayNode();
    for (Target t : s.net.graph().topologicalOrder()) {
      ObjectNode n = list.addObject();
      n.put("name", t.name());
      ArrayNode deps = n.putArray("dependencies");
      t.dependencies().forEach(deps::add);
      ArrayNode outputs = n.putArray("outputs");
      t.outputs().forEach(outputs::add);
    }
    ObjectNode n = Http.JSON.createObjectNode();
    n.set("targets", list);
    return n;
  }

  private Object explain(String target) {
    Explanation e;
    try {
      e = s.net.explain(target);
    } catch (InvalidGraphException x) {
      if (x.reason() != InvalidGraphException.Reason.UNKNOWN_TARGET) {
        throw x;
      }
      throw Http.notFound("no target '" + target + "'", "GET /api/targets lists the targets");
    } catch (IllegalStateException x) {
      throw new HttpError(409, "not_built", "target '" + target + "' has not been built yet",
          "build it once; then this says why it was or was not a cache hit");
    }
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("target", e.target());
    n.put("key", e.key());
    n.put("previousKey", e.previousKey());
    n.put("cached", e.cached());
    ArrayNode reasons = n.putArray("reasons");
    e.reasons().forEach(reasons::add);
    n.put("text", e.toString());
    return n;
  }

  // ---- workers -----------------------------------------------------------------------------------

  private Object workers() {
    ArrayNode list = Http.JSON.createArrayNode();
    List<WorkerInfo> all = AddOns.master(s.net).map(m -> m.workers()).orElse(List.of());
    for (WorkerInfo w : all) {
      ObjectNode n = list.addObject();
      n.put("id", w.id());
      n.put("runtime", w.runtime());
      n.put("address", w.address() == null ? null : w.address().getHostString() + ":" + w.address().getPort());
      ArrayNode caps = n.putArray("capabilities");
      w.capabilities().forEach(caps::add);
      ObjectNode res = n.putObject("resources");
      res.put("cpuSlots", w.cpuSlots());
      res.put("memoryMb", w.memoryMb());
      res.put("claimedCpuSlots", w.claimedCpuSlots());
      res.put("claimedMemoryMb", w.claimedMemoryMb());
      n.put("runningAttempts", w.runningAttempts());
      n.put("load", w.cpuSlots() == 0 ? 0.0 : (double) w.claimedCpuSlots() / w.cpuSlots());
      n.put("connectedAt", w.connectedAt().toString());
      n.put("lastHeartbeatAgoMs", w.silentFor().toMillis());
    }
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("master", AddOns.master(s.net).isPresent());
    n.set("workers", list);
    ArrayNode local = n.putArray("localCapabilities");
    s.net.capabilities().forEach(local::add);
    return n;
  }

  private Object drain(String id) {
    return switch (s.dispatch.drainWorker(id)) {
      case DRAINING -> Map.of("id", id, "draining", true);
      case UNKNOWN_WORKER -> throw Http.notFound("no connected worker '" + id + "'",
          "GET /api/workers lists the connected workers");
      case UNSUPPORTED -> throw new HttpError(501, "unsupported",
          "this dispatcher cannot drain a single worker", "stop the worker process instead");
    };
  }

  // ---- peers ------------------------------------------------------------------------------------

  private Object peers() {
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("enabled", AddOns.peers(s.net).isPresent());
    ArrayNode list = n.putArray("peers");
    for (PeerBuilds.Peer p : AddOns.peers(s.net).map(PeerBuilds::peers).orElse(List.of())) {
      ObjectNode pn = list.addObject();
      pn.put("master", p.master());
      pn.put("lastSeen", p.lastSeen().toString());
      ArrayNode builds = pn.putArray("builds");
      for (PeerBuilds.Build b : p.builds()) {
        ObjectNode bn = builds.addObject();
        bn.put("id", b.id());
        bn.put("status", b.status());
        bn.put("startedAt", b.startedAt().toString());
        bn.put("finishedAt", iso(b.finishedAt()));
        ObjectNode targets = bn.putObject("targets");
        b.targets().forEach(targets::put);
        bn.put("completed", b.completed());
        bn.put("progress", b.targets().isEmpty() ? (b.finishedAt() == null ? 0.0 : 1.0)
            : (double) b.completed() / b.targets().size());
      }
    }
    return n;
  }

  // ---- watch -----------------------------------------------------------------------------------

  /** Paths listed per cycle by {@code GET /api/watch}: the page shows a few; the count has all. */
  static final int WATCH_PATHS = 20;

  /** The cycles {@link WatchCycles} keeps (the last 50), newest first; how many watches run. */
  private Object watch() {
    WatchCycles cycles = AddOns.watchCycles(s.net);
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("watching", cycles.running());
    ArrayNode list = n.putArray("cycles");
    List<WatchCycles.Started> recent = cycles.recent();
    for (int i = recent.size() - 1; i >= 0; i--) {
      EventStreams.cycle(list.addObject(), recent.get(i), WATCH_PATHS);
    }
    return n;
  }

  // ---- cache -------------------------------------------------------------------------------------

  private Object cache() {
    long[] sizes = s.metrics.storeSizes();
    ObjectNode n = Http.JSON.createObjectNode();
    ObjectNode a = n.putObject("actionCache");
    long hits = s.metrics.cacheHits();
    long misses = s.metrics.cacheMisses();
    a.put("hits", hits);
    a.put("misses", misses);
    a.put("hitRatio", hits + misses == 0 ? 0.0 : (double) hits / (hits + misses));
    a.put("storeBytes", sizes[0]);
    ObjectNode h = n.putObject("httpCache");
    HttpCacheStore c = s.cache;
    h.put("hits", c.hits.get());
    h.put("misses", c.misses.get());
    h.put("puts", c.puts.get());
    h.put("rejected", c.rejected.get());
    h.put("receivedBytes", c.bytesIn.get());
    h.put("sentBytes", c.bytesOut.get());
    h.put("blobs", sizes[1]);
    h.put("bytes", sizes[2]);
    h.put("maxEntryBytes", c.maxEntryBytes());
    n.put("at", Instant.now(s.clock).toString());
    return n;
  }

  // ---- state and locks ---------------------------------------------------------------------------

  private Object stateGet(String key) {
    byte[] v = s.net.state().get(key).orElseThrow(() -> Http.notFound("no state key '" + key + "'",
        "GET /api/state?prefix=... lists keys"));
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("key", key);
    try {
      n.put("value", StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(v)).toString());
      n.put("encoding", "utf-8");
    } catch (CharacterCodingException e) {
      n.put("value", Base64.getEncoder().encodeToString(v));
      n.put("encoding", "base64");
    }
    return n;
  }

  private Object statePut(String key, JsonNode body) {
    JsonNode value = body.get("value");
    if (value == null || !value.isTextual()) {
      throw Http.badRequest("'value' must be a string",
          "send {\"value\": \"...\"}, with \"encoding\": \"base64\" for bytes");
    }
    byte[] bytes;
    String encoding = body.path("encoding").asText("utf-8");
    if (encoding.equals("base64")) {
      try {
        bytes = Base64.getDecoder().decode(value.asText());
      } catch (IllegalArgumentException e) {
        throw Http.badRequest("'value' is not valid base64: " + e.getMessage(), "encode it as base64");
      }
    } else if (encoding.equals("utf-8")) {
      bytes = value.asText().getBytes(StandardCharsets.UTF_8);
    } else {
      throw Http.badRequest("unknown encoding '" + encoding + "'", "use utf-8 or base64");
    }
    Duration ttl = ttl(body, false);
    StateBackend state = s.net.state();
    if (ttl == null) {
      state.set(key, bytes);
    } else {
      state.set(key, bytes, ttl);
    }
    return Map.of("key", key, "stored", true);
  }

  private static Duration ttl(JsonNode body, boolean required) {
    JsonNode t = body.get("ttlSeconds");
    if (t == null && !required) {
      return null;
    }
    if (t == null || !t.isNumber() || t.asDouble() <= 0) {
      throw Http.badRequest("'ttlSeconds' must be a positive number", "e.g. \"ttlSeconds\": 30");
    }
    return Duration.ofMillis((long) (t.asDouble() * 1000));
  }

  private Object lock(String resource, String action, JsonNode body) {
    String owner = body.path("owner").asText("");
    if (owner.isEmpty()) {
      throw Http.badRequest("'owner' is required", "name who holds the lock, e.g. \"ci-42\"");
    }
    StateBackend state = s.net.state();
    switch (action) {
      case "acquire" -> {
        Lock l = state.acquireLock(resource, ttl(body, true), owner).orElseThrow(() ->
            new HttpError(409, "lock_held", "'" + resource + "' is held by someone else",
                "retry later, or wait for the lease to expire"));
        return lockJson(l);
      }
      case "renew", "release" -> {
        JsonNode token = body.get("fencingToken");
        if (token == null || !token.canConvertToLong() || token.asLong() < 1) {
          throw Http.badRequest("'fencingToken' must be the token acquire returned",
              "send {\"owner\": ..., \"fencingToken\": ...}");
        }
        Lock l = new Lock(resource, owner, token.asLong(), Instant.EPOCH);
        try {
          if (action.equals("renew")) {
            return lockJson(state.renew(l, ttl(body, true)));
          }
          state.release(l);
          return Map.of("resource", resource, "released", true);
        } catch (StateException e) {
          if (e.reason() != StateException.Reason.LOCK_NOT_HELD) {
            throw e;
          }
          throw new HttpError(409, "lock_not_held", e.getMessage(), "acquire the lock again");
        }
      }
      default -> throw Http.notFound("no lock action '" + action + "'", "use acquire, renew or release");
    }
  }

  private static ObjectNode lockJson(Lock l) {
    ObjectNode n = Http.JSON.createObjectNode();
    n.put("resource", l.resource());
    n.put("owner", l.owner());
    n.put("fencingToken", l.fencingToken());
    n.put("expiresAt", l.expiresAt().toString());
    return n;
  }
}
