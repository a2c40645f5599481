package dev.buildnet.graph;

import dev.buildnet.internal.graph.Suggestions;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;

/**
 * A validated set of {@link Target}s and the dependencies between them.
 *
 * <p>{@link #of(Collection)} checks the whole graph before anything runs and reports every problem
 * at once in an {@link InvalidGraphException}: duplicate names, dependencies on undefined targets,
 * dependency cycles (named by their path, {@code a -> b -> a}, where {@code ->} reads "depends
 * on"), and outputs declared by two targets or nested inside another target's output. Checking
 * is linear in targets plus dependencies (plus a sort), iterative throughout, so graphs of tens
 * of thousands of targets neither take long nor overflow the stack.
 *
 * <p>Immutable and safe to share between threads; queries do not block.
 *
 * @since 0.1
 */
public final class BuildGraph {
  private final Map<String, Target> targets;
  private final List<Target> topologicalOrder;
  private final Map<String, List<Target>> dependents;
  /**
   * {@link #subgraphFor} by requested set: a host builds the same few requests over and over, and
   * on a large graph the closure and the subgraph's own indexes cost more than a null build's
   * bookkeeping. It lives in the graph, so a reloaded graph (a new instance) starts empty.
   */
  private final Map<Set<String>, BuildGraph> subgraphs = new java.util.concurrent.ConcurrentHashMap<>();
  private static final int MAX_SUBGRAPHS = 64;

  private BuildGraph(Map<String, Target> targets, List<Target> topologicalOrder) {
    this.targets = Collections.unmodifiableMap(targets);
    this.topologicalOrder = List.copyOf(topologicalOrder);
    Map<String, List<Target>> reverse = new HashMap<>();
    for (Target target : targets.values()) {
      for (String dependency : target.dependencies()) {
        reverse.computeIfAbsent(dependency, k -> new ArrayList<>()).add(target);
      }
    }
    reverse.replaceAll((k, v) -> List.copyOf(v));
    this.dependents = reverse;
  }

  /**
   * Validates {@code targets} as a graph.
   *
   * @throws InvalidGraphException listing every problem found
   * @throws IllegalArgumentException if {@code targets} or one of its elements is null
   */
  public static BuildGraph of(Collection<Target> targets) {
    return validate(targets, null, List.of(), Set.of());
  }

  /**
   * Validates {@code targets}, adding {@code earlierProblems} (e.g. targets that failed to parse,
   * whose names are {@code invalidNames} and so do not count as missing dependencies).
   */
  static BuildGraph validate(
      Collection<Target> targets,
      String source,
      List<String> earlierProblems,
      Set<String> invalidNames) {
    if (targets == null) {
      throw new IllegalArgumentException("targets is null");
    }
    List<String> problems = new ArrayList<>(earlierProblems);
    Map<String, Target> byName = new LinkedHashMap<>();
    Map<String, Integer> declarations = new LinkedHashMap<>();
    for (Target target : targets) {
      if (target == null) {
        throw new IllegalArgumentException("targets contains null");
      }
      byName.putIfAbsent(target.name(), target);
      declarations.merge(target.name(), 1, Integer::sum);
    }
    declarations.forEach((name, count) -> {
      if (count > 1) {
        problems.add("duplicate target name '" + name + "' (declared " + count + " times)");
      }
    });
    for (Target target : byName.values()) {
      for (String dependency : target.dependencies()) {
        if (!byName.containsKey(dependency) && !invalidNames.contains(dependency)) {
          problems.add("target '" + target.name() + "' depends on '" + dependency
              + "', which is not defined" + Suggestions.hint(dependency, byName.keySet()));
        }
      }
    }
    checkOutputs(byName.values(), problems);
    List<Target> order = orderOrReportCycles(byName, problems);
    if (!problems.isEmpty()) {
      throw new InvalidGraphException(source, problems);
    }
    return new BuildGraph(byName, order);
  }

  private static void checkOutputs(Collection<Target> targets, List<String> problems) {
    // Sorted so a nested output's ancestors can be looked up by prefix.
    TreeMap<String, Target> owners = new TreeMap<>();
    for (Target target : targets) {
      for (String output : target.outputs()) {
        Target owner = owners.putIfAbsent(output, target);
        if (owner != null && owner != target) {
          problems.add("targets '" + owner.name() + "' and '" + target.name()
              + "' both declare output '" + output + "'");
        }
      }
    }
    for (Map.Entry<String, Target> entry : owners.entrySet()) {
      String output = entry.getKey();
      for (int slash = output.indexOf('/'); slash >= 0; slash = output.indexOf('/', slash + 1)) {
        String ancestor = output.substring(0, slash);
        Target outer = owners.get(ancestor);
        if (outer != null && outer != entry.getValue()) {
          problems.add("output '" + output + "' of target '" + entry.getValue().name()
              + "' is inside output '" + ancestor + "' of target '" + outer.name() + "'");
        }
      }
    }
  }

  /**
   * Kahn's algorithm (ties broken by name, for a stable order). Whatever it cannot order lies on
   * or behind a cycle; those nodes go to an iterative Tarjan pass that names one cycle per
   * strongly connected component.
   */
  private static List<Target> orderOrReportCycles(Map<String, Target> byName, List<String> problems) {
    int n = byName.size();
    Target[] nodes = byName.values().toArray(new Target[0]);
    Map<String, Integer> index = new HashMap<>(n * 2);
    for (int i = 0; i < n; i++) {
      index.put(nodes[i].name(), i);
    }
    int[][] dependencies = new int[n][];
    int[] unfinished = new int[n];
    List<List<Integer>> dependentsOf = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      dependentsOf.add(new ArrayList<>(2));
    }
    for (int i = 0; i < n; i++) {
      List<String> names = nodes[i].dependencies();
      int[] edges = new int[names.size()];
      int count = 0;
      for (String name : names) {
        Integer d = index.get(name);
        if (d != null) {
          edges[count++] = d;
          dependentsOf.get(d).add(i);
        }
      }
      dependencies[i] = Arrays.copyOf(edges, count);
      unfinished[i] = count;
    }
    PriorityQueue<Integer> ready =
        new PriorityQueue<>(Math.max(1, n), (a, b) -> nodes[a].name().compareTo(nodes[b].name()));
    for (int i = 0; i < n; i++) {
      if (unfinished[i] == 0) {
        ready.add(i);
      }
    }
    List<Target> order = new ArrayList<>(n);
    while (!ready.isEmpty()) {
      int next = ready.poll();
      order.add(nodes[next]);
      for (int dependent : dependentsOf.get(next)) {
        if (--unfinished[dependent] == 0) {
          ready.add(dependent);
        }
      }
    }
    if (order.size() < n) {
      boolean[] stuck = new boolean[n];
      for (int i = 0; i < n; i++) {
        stuck[i] = unfinished[i] > 0;
      }
      for (List<Integer> component : stronglyConnected(dependencies, stuck)) {
        problems.add("dependency cycle: " + cyclePath(component, dependencies, nodes));
      }
    }
    return order;
  }

  /** Tarjan's algorithm with an explicit stack; only components that contain a cycle. */
  private static List<List<Integer>> stronglyConnected(int[][] edges, boolean[] include) {
    int n = edges.length;
    int[] index = new int[n];
    int[] low = new int[n];
    int[] nextEdge = new int[n];
    boolean[] onStack = new boolean[n];
    Arrays.fill(index, -1);
    Deque<Integer> stack = new ArrayDeque<>();
    Deque<Integer> calls = new ArrayDeque<>();
    List<List<Integer>> components = new ArrayList<>();
    int counter = 0;
    for (int start = 0; start < n; start++) {
      if (!include[start] || index[start] >= 0) {
        continue;
      }
      index[start] = low[start] = counter++;
      stack.push(start);
      onStack[start] = true;
      calls.push(start);
      while (!calls.isEmpty()) {
        int v = calls.peek();
        if (nextEdge[v] < edges[v].length) {
          int w = edges[v][nextEdge[v]++];
          if (!include[w]) {
            continue;
          }
          if (index[w] < 0) {
            index[w] = low[w] = counter++;
            stack.push(w);
            onStack[w] = true;
            calls.push(w);
          } else if (onStack[w]) {
            low[v] = Math.min(low[v], index[w]);
          }
          continue;
        }
        calls.pop();
        if (!calls.isEmpty()) {
          int parent = calls.peek();
          low[parent] = Math.min(low[parent], low[v]);
        }
        if (low[v] == index[v]) {
          List<Integer> component = new ArrayList<>();
          int w;
          do {
            w = stack.pop();
            onStack[w] = false;
            component.add(w);
          } while (w != v);
          if (component.size() > 1 || contains(edges[v], v)) {
            components.add(component);
          }
        }
      }
    }
    return components;
  }

  private static boolean contains(int[] values, int value) {
    for (int v : values) {
      if (v == value) {
        return true;
      }
    }
    return false;
  }

  /** The shortest cycle through the component's first node by name, as "a -> b -> a". */
  private static String cyclePath(List<Integer> component, int[][] edges, Target[] nodes) {
    Set<Integer> members = new LinkedHashSet<>(component);
    int start = component.get(0);
    for (int node : component) {
      if (nodes[node].name().compareTo(nodes[start].name()) < 0) {
        start = node;
      }
    }
    Map<Integer, Integer> parent = new HashMap<>();
    Deque<Integer> queue = new ArrayDeque<>();
    queue.add(start);
    int last = -1;
    search:
    while (!queue.isEmpty()) {
      int v = queue.poll();
      for (int w : edges[v]) {
        if (w == start) {
          last = v;
          break search;
        }
        if (members.contains(w) && !parent.containsKey(w)) {
          parent.put(w, v);
          queue.add(w);
        }
      }
    }
    Deque<String> path = new ArrayDeque<>();
    path.addFirst(nodes[start].name());
    for (int v = last; v != start; v = parent.get(v)) {
      path.addFirst(nodes[v].name());
    }
    path.addFirst(nodes[start].name());
    return String.join(" -> ", path);
  }

  /** How many targets the graph holds. */
  public int size() {
    return targets.size();
  }

  /** The targets in the order they were given. */
  public Collection<Target> targets() {
    return targets.values();
  }

  /** The target names in the order they were given. */
  public Set<String> names() {
    return targets.keySet();
  }

  public boolean contains(String name) {
    return targets.containsKey(name);
  }

  /** The target called {@code name}, if the graph has one. */
  public Optional<Target> find(String name) {
    return Optional.ofNullable(targets.get(name));
  }

  /**
   * The target called {@code name}.
   *
   * @throws InvalidGraphException ({@code UNKNOWN_TARGET}) if there is none; the message suggests
   *     close names
   */
  public Target get(String name) {
    Target target = targets.get(name);
    if (target == null) {
      throw unknown(List.of(String.valueOf(name)));
    }
    return target;
  }

  /** The targets {@code name} depends on directly, in declaration order. */
  public List<Target> dependenciesOf(String name) {
    List<String> names = get(name).dependencies();
    List<Target> result = new ArrayList<>(names.size());
    for (String dependency : names) {
      result.add(targets.get(dependency));
    }
    return Collections.unmodifiableList(result);
  }

  /** The targets that depend directly on {@code name}, in graph order. */
  public List<Target> dependentsOf(String name) {
    get(name);
    return dependents.getOrDefault(name, List.of());
  }

  /**
   * Every target, each after all of its dependencies; among targets whose dependencies are all
   * placed, by name. The order is the same for the same graph.
   */
  public List<Target> topologicalOrder() {
    return topologicalOrder;
  }

  /**
   * The graph of exactly the {@code requested} targets and their transitive dependencies.
   * Requesting nothing gives an empty graph.
   *
   * @throws InvalidGraphException ({@code UNKNOWN_TARGET}) naming every requested name the graph
   *     does not define
   */
  public BuildGraph subgraphFor(Collection<String> requested) {
    if (requested == null) {
      throw new IllegalArgumentException("requested is null");
    }
    for (String name : requested) {
      if (name == null) {
        return closureOf(requested); // reports the null name as unknown
      }
    }
    // The subgraph does not depend on the order of the names, only on the set.
    Set<String> key = Set.copyOf(requested);
    BuildGraph known = subgraphs.get(key);
    if (known != null) {
      return known;
    }
    BuildGraph sub = closureOf(requested);
    if (subgraphs.size() >= MAX_SUBGRAPHS) {
      subgraphs.clear(); // many different requests: keep the memo small rather than clever
    }
    subgraphs.put(key, sub);
    return sub;
  }

  private BuildGraph closureOf(Collection<String> requested) {
    List<String> unknown = new ArrayList<>();
    for (String name : requested) {
      if (name == null || !targets.containsKey(name)) {
        unknown.add(String.valueOf(name));
      }
    }
    if (!unknown.isEmpty()) {
      throw unknown(unknown);
    }
    Set<String> closure = new LinkedHashSet<>();
    Deque<String> pending = new ArrayDeque<>(requested);
    while (!pending.isEmpty()) {
      String name = pending.pop();
      if (closure.add(name)) {
        pending.addAll(targets.get(name).dependencies());
      }
    }
    if (closure.size() == targets.size()) {
      return this; // every target: the graph itself, immutable and already indexed
    }
    Map<String, Target> selected = new LinkedHashMap<>();
    for (Map.Entry<String, Target> entry : targets.entrySet()) {
      if (closure.contains(entry.getKey())) {
        selected.put(entry.getKey(), entry.getValue());
      }
    }
    List<Target> order = new ArrayList<>(selected.size());
    for (Target target : topologicalOrder) {
      if (closure.contains(target.name())) {
        order.add(target);
      }
    }
    return new BuildGraph(selected, order);
  }

  private InvalidGraphException unknown(List<String> names) {
    List<String> parts = new ArrayList<>();
    for (String name : names) {
      parts.add("'" + name + "'" + Suggestions.hint(name, targets.keySet()));
    }
    String message = (names.size() == 1 ? "unknown target " : "unknown targets ")
        + String.join(", ", parts) + " (the graph has " + targets.size() + (targets.size() == 1 ? " target)" : " targets)");
    return InvalidGraphException.unknownTargets(message, names);
  }

  @Override
  public String toString() {
    return "BuildGraph[" + targets.size() + " targets]";
  }
}
