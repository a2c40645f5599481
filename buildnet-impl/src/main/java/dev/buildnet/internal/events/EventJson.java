package dev.buildnet.internal.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildOrigin;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one mapping between {@link BuildEvent} and JSON, both ways: what the HTTP API's live events
 * (docs/HTTP.md) and the peer-event channel ({@code dev.buildnet.internal.peers.PeerEvents}) carry. Times
 * are ISO-8601 instants; the kind and statuses are their wire names; absent fields are left out.
 * A target's outcome and a build's result are not carried.
 *
 * @since 0.3
 */
public final class EventJson {
  private EventJson() {}

  /** {@code e} as a JSON object: {@code kind}, {@code at}, then the fields its kind has. */
  public static ObjectNode toJson(BuildEvent e) {
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.put("kind", e.kind().wireName());
    n.put("at", e.at().toString());
    if (e.buildId() != null) {
      n.put("buildId", e.buildId());
    }
    if (e instanceof BuildEvent.BuildStarted s) {
      ArrayNode targets = n.putArray("targets");
      s.targets().forEach(targets::add);
      ArrayNode requested = n.putArray("requested");
      s.requested().forEach(requested::add);
      if (s.origin() != null) {
        n.set("origin", origin(s.origin()));
      }
    } else if (e instanceof BuildEvent.TargetStarted s) {
      n.put("target", s.target());
      if (s.worker() != null) {
        n.put("worker", s.worker());
      }
      if (s.attempt() > 0) {
        n.put("attempt", s.attempt());
      }
    } else if (e instanceof BuildEvent.TargetWaiting w) {
      n.put("target", w.target());
      n.put("reason", w.reason());
    } else if (e instanceof BuildEvent.TargetLog l) {
      n.put("target", l.target());
      n.put("stream", l.stream().name().toLowerCase(Locale.ROOT));
      n.put("line", l.line());
    } else if (e instanceof BuildEvent.TargetFinished f) {
      n.put("target", f.target());
      n.put("status", f.status().wireName());
    } else if (e instanceof BuildEvent.BuildFinished f) {
      n.put("status", f.status().wireName());
    } else if (e instanceof BuildEvent.WorkerJoined w) {
      n.put("worker", w.worker());
    } else if (e instanceof BuildEvent.WorkerLeft w) {
      n.put("worker", w.worker());
    }
    return n;
  }

  /** {@code {"kind": "http", "name": null, "address": "127.0.0.1:5321"}}: the HTTP API's form. */
  public static ObjectNode origin(BuildOrigin o) {
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.put("kind", o.kind().wireName());
    n.put("name", o.name());
    n.put("address", o.address());
    return n;
  }

  /**
   * The event a JSON object written by {@link #toJson} carries; null when it is not one (unknown
   * kind or status, a missing field, an unreadable time), e.g. from a newer or older writer.
   */
  public static BuildEvent fromJson(JsonNode n) {
    if (n == null || !n.isObject()) {
      return null;
    }
    BuildEvent.Kind kind = BuildEvent.Kind.ofWireName(text(n, "kind"));
    String at = text(n, "at");
    String buildId = text(n, "buildId");
    if (kind == null || at == null || (kind.aboutBuild() && buildId == null)) {
      return null;
    }
    Instant when;
    try {
      when = Instant.parse(at);
    } catch (DateTimeParseException e) {
      return null;
    }
    String target = text(n, "target");
    if (kind != BuildEvent.Kind.BUILD_STARTED && kind != BuildEvent.Kind.BUILD_FINISHED
        && kind.aboutBuild() && target == null) {
      return null;
    }
    switch (kind) {
      case BUILD_STARTED: {
        JsonNode o = n.path("origin");
        BuildOrigin.Kind originKind = BuildOrigin.Kind.ofWireName(text(o, "kind"));
        return new BuildEvent.BuildStarted(buildId, when, texts(n.path("targets")),
            texts(n.path("requested")), originKind == null ? null
                : new BuildOrigin(originKind, text(o, "name"), text(o, "address")));
      }
      case TARGET_STARTED:
        return new BuildEvent.TargetStarted(buildId, when, target,
            Math.max(0, n.path("attempt").asInt(0)), text(n, "worker"));
      case TARGET_WAITING: {
        String reason = text(n, "reason");
        return reason == null ? null : new BuildEvent.TargetWaiting(buildId, when, target, reason);
      }
      case LOG: {
        String line = text(n, "line");
        String stream = text(n, "stream");
        if (line == null || !("stdout".equals(stream) || "stderr".equals(stream))) {
          return null;
        }
        return new BuildEvent.TargetLog(buildId, when, target,
            "stderr".equals(stream) ? OutputListener.Stream.STDERR : OutputListener.Stream.STDOUT,
            line, false);
      }
      case TARGET_FINISHED: {
        TargetOutcome.Status status = TargetOutcome.Status.ofWireName(text(n, "status"));
        return status == null ? null
            : new BuildEvent.TargetFinished(buildId, when, target, status, null);
      }
      case BUILD_FINISHED: {
        BuildStatus status = BuildStatus.ofWireName(text(n, "status"));
        return status == null || status == BuildStatus.RUNNING ? null
            : new BuildEvent.BuildFinished(buildId, when, status, null);
      }
      case WORKER_JOINED: {
        String worker = text(n, "worker");
        return worker == null ? null : new BuildEvent.WorkerJoined(when, worker);
      }
      case WORKER_LEFT: {
        String worker = text(n, "worker");
        return worker == null ? null : new BuildEvent.WorkerLeft(when, worker);
      }
      default:
        return null;
    }
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(t -> {
      if (t.isTextual()) {
        out.add(t.asText());
      }
    });
    return out;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v != null && v.isTextual() ? v.asText() : null;
  }
}
