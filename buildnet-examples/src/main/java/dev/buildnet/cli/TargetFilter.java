package dev.buildnet.cli;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code --filter}: keeps the targets whose name matches a glob ({@code lib*}), or, for {@code
 * [REF]} (Turborepo's syntax), the targets affected by what changed since the git revision REF:
 * those with an input among the changed files, and every target that depends on them (all of
 * them if buildnet.json changed).
 */
final class TargetFilter {
  private TargetFilter() {}

  /** The targets of {@code candidates} that match at least one filter, in their order. */
  static List<String> apply(BuildGraph graph, List<String> candidates, List<String> filters,
      Path workspace) throws IOException, InterruptedException {
    Set<String> keep = new LinkedHashSet<>();
    for (String f : filters) {
      if (f.length() > 2 && f.startsWith("[") && f.endsWith("]")) {
        keep.addAll(affected(graph, changedFiles(workspace, f.substring(1, f.length() - 1))));
      } else {
        Pattern p = glob(f);
        for (Target t : graph.targets()) {
          if (p.matcher(t.name()).matches()) {
            keep.add(t.name());
          }
        }
      }
    }
    List<String> out = new ArrayList<>();
    for (String c : candidates) {
      if (keep.contains(c)) {
        out.add(c);
      }
    }
    return out;
  }

  /** Targets with an input among {@code changed} (workspace-relative), and their dependents. */
  static Set<String> affected(BuildGraph graph, List<String> changed) {
    Set<String> hit = new LinkedHashSet<>();
    if (changed.contains(dev.buildnet.graph.WorkspaceFile.FILE_NAME)) {
      // Any target's definition may have changed: as Turborepo does for its root config.
      graph.topologicalOrder().forEach(t -> hit.add(t.name()));
      return hit;
    }
    for (Target t : graph.targets()) {
      List<Pattern> inputs = t.inputs().stream().map(TargetFilter::glob).toList();
      for (String file : changed) {
        if (matchesInput(t.inputs(), inputs, file)) {
          hit.add(t.name());
          break;
        }
      }
    }
    Deque<String> todo = new ArrayDeque<>(hit);
    while (!todo.isEmpty()) {
      for (Target d : graph.dependentsOf(todo.pop())) {
        if (hit.add(d.name())) {
          todo.push(d.name());
        }
      }
    }
    return hit;
  }

  private static boolean matchesInput(List<String> raw, List<Pattern> inputs, String file) {
    for (int i = 0; i < raw.size(); i++) {
      String dir = raw.get(i).endsWith("/") ? raw.get(i) : raw.get(i) + "/";
      if (inputs.get(i).matcher(file).matches() || file.startsWith(dir)) {
        return true; // a directory input covers every file below it
      }
    }
    return false;
  }

  /**
   * Files changed since {@code ref}, relative to the workspace: tracked files that differ from it
   * (committed or not) and untracked files git does not ignore. git runs with an argv list, so a
   * ref is never interpreted by a shell; one starting with '-' is refused, not taken as an option.
   */
  static List<String> changedFiles(Path workspace, String ref)
      throws IOException, InterruptedException {
    if (ref.isBlank() || ref.startsWith("-")) {
      throw new IllegalArgumentException("--filter '[" + ref + "]': not a git revision");
    }
    List<String> files = new ArrayList<>(git(workspace, "diff", "--name-only", "--relative",
        ref, "--"));
    files.addAll(git(workspace, "ls-files", "--others", "--exclude-standard"));
    return files;
  }

  private static List<String> git(Path workspace, String... args)
      throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("git", "-C", workspace.toString()));
    argv.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.PIPE).start();
    } catch (IOException e) {
      throw new IOException("--filter with a git revision needs git: " + e.getMessage(), e);
    }
    p.getOutputStream().close();
    // Read both streams fully before waiting, so that a large diff cannot fill a pipe and block.
    var err = new java.util.concurrent.CompletableFuture<String>();
    Thread t = new Thread(() -> {
      try {
        err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        err.complete("");
      }
    }, "buildnet-git-stderr");
    t.start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("git " + String.join(" ", args) + " did not finish in 60 s");
    }
    t.join();
    if (p.exitValue() != 0) {
      throw new IllegalArgumentException("git " + args[0] + " failed: "
          + err.join().strip().lines().findFirst().orElse("exit code " + p.exitValue()));
    }
    return text.lines().filter(l -> !l.isBlank()).toList();
  }

  /** '**' any path, '*' and '?' within one path segment; everything else literal. */
  static Pattern glob(String pattern) {
    StringBuilder re = new StringBuilder();
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '*' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '*') {
        i++;
        if (i + 1 < pattern.length() && pattern.charAt(i + 1) == '/') {
          i++;
          re.append("(?:.*/)?");
        } else {
          re.append(".*");
        }
      } else if (c == '*') {
        re.append("[^/]*");
      } else if (c == '?') {
        re.append("[^/]");
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString());
  }
}
