package dev.buildnet.internal.engine;

import dev.buildnet.graph.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A build order indexed once: each target's dependencies and dependents inside the order as
 * positions in it. A build makes its {@link Node}s from it by position, without a map by name;
 * the engine keeps the plan of the last graph it built, so a host building the same graph over
 * and over (an IDE's null builds) indexes it once rather than on every submission, where it was
 * most of the serial part of a 10,000-target null build.
 *
 * <p>Immutable but for its {@link #records}, and a pure function of {@link #order}, which is
 * immutable too: a plan is only ever reused for that very list instance (see {@link #of(List)}), so a different graph, or another
 * subgraph of the same one, always gets its own.
 */
final class BuildPlan {
  private static final int[] NONE = new int[0];
  private static final String[] NO_NAMES = new String[0];

  /** The targets in build order (dependencies first). */
  final List<Target> order;
  /** Their names in that order, immutable: the build_started event's list. */
  final List<String> names;
  /** By position: the positions of its dependencies in the order. */
  final int[][] dependencies;
  /** By position: the positions of the targets depending on it. */
  final int[][] dependents;
  /** By position: its dependencies outside the order (watch mode's up-to-date upstream). */
  final String[][] outside;
  /**
   * By position: what the engine remembers of the target across the builds of this plan (see
   * {@link TargetRecord}); the only mutable part of a plan.
   */
  final TargetRecord[] records;

  private BuildPlan(List<Target> order) {
    this.order = order;
    int n = order.size();
    Map<String, Integer> position = new HashMap<>(n * 2);
    List<String> names = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String name = order.get(i).name();
      position.put(name, i);
      names.add(name);
    }
    this.names = List.copyOf(names);
    this.records = new TargetRecord[n];
    for (int i = 0; i < n; i++) {
      records[i] = new TargetRecord();
    }
    this.dependencies = new int[n][];
    this.outside = new String[n][];
    int[] dependentCount = new int[n];
    for (int i = 0; i < n; i++) {
      List<String> deps = order.get(i).dependencies();
      int[] in = new int[deps.size()];
      List<String> out = null;
      int k = 0;
      for (String dep : deps) {
        Integer p = position.get(dep);
        if (p == null) {
          if (out == null) {
            out = new ArrayList<>();
          }
          out.add(dep);
        } else {
          in[k++] = p;
          dependentCount[p]++;
        }
      }
      dependencies[i] = k == 0 ? NONE : k == in.length ? in : java.util.Arrays.copyOf(in, k);
      outside[i] = out == null ? NO_NAMES : out.toArray(NO_NAMES);
    }
    this.dependents = new int[n][];
    for (int i = 0; i < n; i++) {
      dependents[i] = dependentCount[i] == 0 ? NONE : new int[dependentCount[i]];
    }
    int[] filled = new int[n];
    for (int i = 0; i < n; i++) {
      for (int d : dependencies[i]) {
        dependents[d][filled[d]++] = i;
      }
    }
  }

  /**
   * The plan of {@code order}: {@code last} if it is the plan of this very list (which must then be
   * immutable, as a {@link dev.buildnet.graph.BuildGraph}'s topological order is), else a new one.
   */
  static BuildPlan of(List<Target> order, BuildPlan last) {
    return last != null && last.order == order ? last : new BuildPlan(order);
  }

  /** A plan of {@code order}, made afresh (for an order that may change after the call). */
  static BuildPlan of(List<Target> order) {
    return new BuildPlan(List.copyOf(order));
  }
}
