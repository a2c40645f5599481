package dev.buildnet.internal.graph;

import java.util.ArrayList;
import java.util.List;

/**
 * Expands the {@code {inputs}} and {@code {inputs:GLOB}} elements of a command's argv into the
 * target's resolved input files (docs/WORKSPACE.md, "Arguments from inputs").
 *
 * <p>A placeholder is a whole argv element, never part of one: each file becomes exactly one
 * argument, so names with spaces, quotes or any other character reach the program unchanged, with
 * no shell and no splitting. Paths are relative to the target's working directory, which is where
 * the command runs locally and inside a worker's sandbox alike, so the same argv works in both.
 * The cache key covers the declared (placeholder) argv: the expansion is a function of it, the
 * working directory and the input paths, all of which the key already covers.
 */
public final class ArgumentExpansion {
  static final String ALL = "{inputs}";
  private static final String PREFIX = "{inputs:";

  private ArgumentExpansion() {}

  /**
   * Checks one declared argv element: null if it is fine (a literal or a valid placeholder),
   * otherwise why not (a bare reason).
   */
  public static String check(String arg) {
    if (!arg.startsWith(PREFIX)) {
      return null;
    }
    if (!arg.endsWith("}") || arg.length() == PREFIX.length() + 1) {
      return "'" + arg + "' is not a placeholder: write {inputs} or {inputs:GLOB}";
    }
    String glob = arg.substring(PREFIX.length(), arg.length() - 1);
    try {
      RelativePaths.normalize("placeholder '" + arg + "'", glob, true);
      Glob.check(glob);
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    return null;
  }

  public static List<String> expand(List<String> argv, String cwd, List<String> inputFiles) {
    List<String> out = new ArrayList<>(argv.size() + inputFiles.size());
    for (String arg : argv) {
      if (arg.equals(ALL)) {
        for (String file : inputFiles) {
          out.add(relative(cwd, file));
        }
      } else if (arg.startsWith(PREFIX) && arg.endsWith("}")) {
        String glob = RelativePaths.normalize("placeholder '" + arg + "'",
            arg.substring(PREFIX.length(), arg.length() - 1), true);
        Glob.Matcher p = Glob.matcher(glob);
        for (String file : inputFiles) {
          if (p.matches(file)) {
            out.add(relative(cwd, file));
          }
        }
      } else {
        out.add(arg);
      }
    }
    return List.copyOf(out);
  }

  /**
   * {@code file} (workspace-relative) as seen from {@code cwd} (workspace-relative), '/'-separated;
   * {@code ./} is put before a name starting with {@code -} so no program takes it for an option.
   */
  static String relative(String cwd, String file) {
    String[] from = cwd.equals(".") ? new String[0] : cwd.split("/");
    String[] to = file.split("/");
    int common = 0;
    while (common < from.length && common < to.length - 1 && from[common].equals(to[common])) {
      common++;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = common; i < from.length; i++) {
      sb.append("../");
    }
    for (int i = common; i < to.length; i++) {
      sb.append(to[i]);
      if (i < to.length - 1) {
        sb.append('/');
      }
    }
    String rel = sb.toString();
    return rel.startsWith("-") ? "./" + rel : rel;
  }
}
