package dev.buildnet.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.PlannedTarget;
import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.util.List;
import java.util.Locale;

/**
 * The machine-readable documents of {@code build --json}, {@code --dry-run --json}, {@code --graph
 * json} and {@code list --json}: one JSON document each, with a {@code schema} field naming its
 * shape, so that scripts can tell them apart and later versions can add fields.
 */
final class JsonOutput {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private JsonOutput() {}

  /** {@code buildnet.build-result/1}: per-target status, key, durations, source and outputs. */
  static String result(BuildResult r) {
    ObjectNode root = JSON.createObjectNode();
    root.put("schema", "buildnet.build-result/1");
    root.put("success", r.success());
    root.put("buildId", r.buildId());
    root.put("durationMs", r.duration().toMillis());
    ObjectNode counts = root.putObject("counts");
    for (TargetOutcome.Status s : TargetOutcome.Status.values()) {
      counts.put(ConsoleReporter.label(s), r.count(s));
    }
    ObjectNode cache = root.putObject("cache");
    cache.put("hits", r.metrics().cache().hits());
    cache.put("misses", r.metrics().cache().misses());
    cache.put("timeSavedMs", r.metrics().cache().timeSaved().toMillis());
    ArrayNode targets = root.putArray("targets");
    for (TargetOutcome o : r.targets()) {
      ObjectNode t = targets.addObject();
      t.put("name", o.target());
      t.put("status", ConsoleReporter.label(o.status()));
      t.put("source", source(o.status()));
      t.put("key", o.key());
      t.put("reason", o.reason());
      // Present when a command ran (docs/CLI.md): a cached target's outcome carries the exit
      // code recorded with its cache entry, from a run of another build.
      if (o.exitCode() >= 0 && o.status() != TargetOutcome.Status.CACHED) {
        t.put("exitCode", o.exitCode());
      }
      t.put("attempts", o.attempts());
      t.put("durationMs", o.duration().toMillis());
      t.put("queueWaitMs", o.metrics().queueWait().toMillis());
      t.put("timeSavedMs", o.metrics().cache().timeSaved().toMillis());
      ArrayNode outputs = t.putArray("outputs");
      for (Artifact a : o.artifacts()) {
        ObjectNode n = outputs.addObject();
        n.put("path", a.path());
        n.put("sizeBytes", a.sizeBytes());
        n.put("digest", a.digest().toString());
      }
      errors(t.putArray("errors"), o.errors());
    }
    errors(root.putArray("errors"), r.errors());
    return write(root);
  }

  /** Where a target's outputs came from: "executed", "cache", or "none". */
  private static String source(TargetOutcome.Status s) {
    return switch (s) {
      case BUILT -> "executed";
      case CACHED -> "cache";
      default -> "none";
    };
  }

  private static void errors(ArrayNode into, List<BuildError> errors) {
    for (BuildError e : errors) {
      ObjectNode n = into.addObject();
      n.put("code", e.code());
      n.put("message", e.message());
      if (e.file() != null) {
        n.put("file", e.file());
        n.put("line", e.line());
        n.put("column", e.column());
      }
    }
  }

  /** {@code buildnet.plan/1}: what a build would do, nothing having run. */
  static String plan(List<PlannedTarget> plan, boolean forced) {
    ObjectNode root = JSON.createObjectNode();
    root.put("schema", "buildnet.plan/1");
    long run = forced ? plan.size() : plan.stream().filter(PlannedTarget::wouldRun).count();
    root.put("wouldRun", run);
    root.put("cached", plan.size() - run);
    ArrayNode targets = root.putArray("targets");
    for (PlannedTarget p : plan) {
      ObjectNode t = targets.addObject();
      t.put("name", p.target());
      t.put("action", p.wouldRun() || forced ? "run" : "cached");
      t.put("key", p.key());
      ArrayNode reasons = t.putArray("reasons");
      if (forced) {
        reasons.add("--force");
      }
      p.reasons().forEach(reasons::add);
    }
    return write(root);
  }

  /** {@code buildnet.graph/1}: the targets with their dependencies, in dependency order. */
  static String graph(BuildGraph graph) {
    ObjectNode root = JSON.createObjectNode();
    root.put("schema", "buildnet.graph/1");
    ArrayNode targets = root.putArray("targets");
    for (Target t : graph.topologicalOrder()) {
      ObjectNode n = targets.addObject();
      n.put("name", t.name());
      ArrayNode deps = n.putArray("deps");
      t.dependencies().forEach(deps::add);
      ArrayNode inputs = n.putArray("inputs");
      t.inputs().forEach(inputs::add);
      ArrayNode outputs = n.putArray("outputs");
      t.outputs().forEach(outputs::add);
      n.put("cacheable", t.cacheable());
    }
    return write(root);
  }

  /** Graphviz: {@code buildnet build --graph dot | dot -Tsvg > graph.svg}. */
  static String dot(BuildGraph graph) {
    StringBuilder sb = new StringBuilder("digraph buildnet {\n  rankdir=LR;\n");
    for (Target t : graph.topologicalOrder()) {
      sb.append("  ").append(quote(t.name())).append(";\n");
      for (String d : t.dependencies()) {
        sb.append("  ").append(quote(t.name())).append(" -> ").append(quote(d)).append(";\n");
      }
    }
    return sb.append("}\n").toString();
  }

  private static String quote(String id) {
    return '"' + id.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  static String write(ObjectNode root) {
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
    }
  }

  static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
