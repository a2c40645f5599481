package dev.buildnet.internal.engine;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Tells which targets read files that other targets write (their inputs overlap declared outputs). */
final class GeneratedPaths {
  private final Set<String> outputs = new HashSet<>();
  private final Set<String> outputAncestors = new HashSet<>();
  private final Map<String, Boolean> byTarget = new ConcurrentHashMap<>();

  GeneratedPaths(BuildGraph graph) {
    for (Target t : graph.targets()) {
      for (String o : t.outputs()) {
        outputs.add(o);
        for (int i = o.lastIndexOf('/'); i > 0; i = o.lastIndexOf('/', i - 1)) {
          outputAncestors.add(o.substring(0, i));
        }
        outputAncestors.add("");
      }
    }
  }

  /** What {@link #readsGenerated(TargetRecord, Target)} left in a target's record. */
  record Known(GeneratedPaths owner, Target target, boolean reads) {}

  /**
   * {@link #readsGenerated(Target)}, answered from {@code record} (the target's record in the
   * build's plan, or null) when this instance recorded it there for this very target: a null build
   * then follows a reference instead of looking the target up by name.
   */
  boolean readsGenerated(TargetRecord record, Target target) {
    if (record == null) {
      return readsGenerated(target);
    }
    Known k = record.generated;
    if (k != null && k.owner == this && k.target == target) {
      return k.reads;
    }
    boolean reads = readsGenerated(target);
    record.generated = new Known(this, target, reads);
    return reads;
  }

  boolean readsGenerated(Target target) {
    Boolean known = byTarget.get(target.name()); // once known, no capturing lambda per call
    return known != null ? known : byTarget.computeIfAbsent(target.name(), n -> compute(target));
  }

  private boolean compute(Target target) {
    for (String input : target.inputs()) {
      if (input.startsWith("!")) {
        continue;
      }
      String prefix = staticPrefix(input);
      if (outputAncestors.contains(prefix)) {
        return true; // an output lies below what this input walks
      }
      for (String p = prefix; !p.isEmpty(); p = parent(p)) {
        if (outputs.contains(p)) {
          return true; // the input lies in (or is) an output
        }
      }
    }
    return false;
  }

  /** The leading segments of {@code pattern} that hold no glob characters. */
  static String staticPrefix(String pattern) {
    StringBuilder sb = new StringBuilder();
    for (String segment : pattern.split("/")) {
      if (segment.chars().anyMatch(c -> c == '*' || c == '?' || c == '{')) {
        break;
      }
      if (sb.length() > 0) {
        sb.append('/');
      }
      sb.append(segment);
    }
    return sb.toString();
  }

  private static String parent(String path) {
    int i = path.lastIndexOf('/');
    return i < 0 ? "" : path.substring(0, i);
  }
}
