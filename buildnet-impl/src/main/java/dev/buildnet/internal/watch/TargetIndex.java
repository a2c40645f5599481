package dev.buildnet.internal.watch;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.graph.Glob;
import dev.buildnet.internal.graph.RelativePaths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which watched targets a changed path concerns, by the literal base directory of each input
 * pattern: a change looks up only the patterns based at one of its ancestors, so its cost follows
 * the depth of the path, not the size of the graph. Exclusions are ignored (a change they exclude
 * costs a key computation that finds the key unchanged). Immutable; one per graph.
 */
final class TargetIndex {
  private record Input(String target, String pattern, Glob.Matcher glob) {}

  private final NavigableMap<String, List<Input>> byBase = new TreeMap<>();
  /** Hashed, not sorted: {@link #insideOutput} asks it once per ancestor of every trusted file. */
  private final Set<String> outputs = new HashSet<>();
  private final Set<String> bases = new LinkedHashSet<>();

  TargetIndex(BuildGraph graph, BuildGraph watched) {
    for (Target t : graph.targets()) {
      outputs.addAll(t.outputs());
    }
    for (Target t : watched.targets()) {
      for (String input : t.inputs()) {
        if (input.startsWith("!")) {
          continue;
        }
        String base = RelativePaths.literalBase(input);
        if (insideOutput(base)) {
          continue; // generated: a dependency writes it, and its events never count
        }
        // Shared with the input resolver's (Glob.cached): one matcher per glob in the process.
        Glob.Matcher glob = RelativePaths.isGlob(input) ? Glob.cached(input) : null;
        byBase.computeIfAbsent(base, b -> new ArrayList<>()).add(new Input(t.name(), input, glob));
        bases.add(base);
      }
    }
  }

  /** The literal base of every watched input pattern ("." for the root). */
  Set<String> bases() {
    return bases;
  }

  /** Whether {@code rel} is a declared output of some target of the graph, or lies in one. */
  boolean insideOutput(String rel) {
    for (String p = rel; ; ) {
      if (outputs.contains(p)) {
        return true;
      }
      int slash = p.lastIndexOf('/');
      if (slash < 0) {
        return false;
      }
      p = p.substring(0, slash);
    }
  }

  /**
   * The targets whose inputs {@code rel} may concern. A file that exists is matched exactly; a
   * directory or a path that is gone also concerns every pattern based at or below it.
   */
  Set<String> affected(String rel, boolean fileExists) {
    Set<String> out = new HashSet<>();
    List<String> ancestors = new ArrayList<>();
    ancestors.add(".");
    for (int slash = rel.indexOf('/'); slash >= 0; slash = rel.indexOf('/', slash + 1)) {
      ancestors.add(rel.substring(0, slash));
    }
    ancestors.add(rel);
    for (String a : ancestors) {
      List<Input> inputs = byBase.get(a);
      if (inputs == null) {
        continue;
      }
      for (Input in : inputs) {
        boolean hit;
        if (!fileExists) {
          hit = true; // a directory, or gone: whatever was below it may have been an input
        } else if (in.glob == null) {
          hit = RelativePaths.contains(in.pattern, rel);
        } else {
          hit = in.glob.matches(rel);
        }
        if (hit) {
          out.add(in.target);
        }
      }
    }
    if (!fileExists) {
      for (Map.Entry<String, List<Input>> e
          : byBase.subMap(rel + "/", true, rel + "0", false).entrySet()) {
        e.getValue().forEach(in -> out.add(in.target));
      }
      if (rel.equals(".")) {
        byBase.values().forEach(l -> l.forEach(in -> out.add(in.target)));
      }
    }
    return out;
  }
}
