package dev.buildnet.internal.bundle;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Maps a target's {@code options} onto a tool's flags, rejecting unknown names and bad values
 * with a message that says what is allowed. Each option becomes whole argv elements, so a value
 * can never smuggle in another flag.
 *
 * <p>Configured once in an adapter's constructor with the chained methods, then only read, so
 * it is safe to share once the adapter is published.
 */
public final class ToolOptions {
  private final String tool;
  private final Map<String, Function<String, List<String>>> mappings = new HashMap<>();

  public ToolOptions(String tool) {
    this.tool = tool;
  }

  Set<String> names() {
    return new TreeSet<>(mappings.keySet());
  }

  /** The flags for {@code options}, in option-name order so the argv is stable. */
  List<String> flags(Map<String, String> options) {
    List<String> flags = new ArrayList<>();
    for (String name : new TreeSet<>(options.keySet())) {
      Function<String, List<String>> mapping = mappings.get(name);
      if (mapping == null) {
        throw new IllegalArgumentException(
            tool + " option '" + name + "' is not supported; supported options: " + names());
      }
      flags.addAll(mapping.apply(options.get(name)));
    }
    return flags;
  }

  /** {@code true} adds {@code flag}, {@code false} adds nothing. */
  public ToolOptions bool(String name, String flag) {
    return add(
        name,
        value -> {
          if (value.equals("true")) {
            return List.of(flag);
          }
          if (value.equals("false")) {
            return List.of();
          }
          throw invalid(name, value, "true or false");
        });
  }

  /** One of {@code values}, passed as {@code flag=value}. */
  public ToolOptions choice(String name, String flag, Set<String> values) {
    return add(
        name,
        value -> {
          if (!values.contains(value)) {
            throw invalid(name, value, "one of " + new TreeSet<>(values));
          }
          return List.of(flag + "=" + value);
        });
  }

  /**
   * {@code true} adds {@code whenTrue}, {@code false} nothing, and any of {@code values} is passed
   * as {@code flag=value}.
   */
  public ToolOptions boolOrChoice(String name, String flag, List<String> whenTrue, Set<String> values) {
    return add(
        name,
        value -> {
          if (value.equals("true")) {
            return whenTrue;
          }
          if (value.equals("false")) {
            return List.of();
          }
          if (!values.contains(value)) {
            throw invalid(name, value, "true, false or one of " + new TreeSet<>(values));
          }
          return List.of(flag + "=" + value);
        });
  }

  /** A value matching {@code pattern}, passed as {@code flag=value}. */
  public ToolOptions matching(String name, String flag, Pattern pattern, String what) {
    return add(
        name,
        value -> {
          if (!pattern.matcher(value).matches()) {
            throw invalid(name, value, what);
          }
          return List.of(flag + "=" + value);
        });
  }

  private ToolOptions add(String name, Function<String, List<String>> mapping) {
    if (mappings.putIfAbsent(name, mapping) != null) {
      throw new IllegalStateException(tool + " option '" + name + "' is mapped twice");
    }
    return this;
  }

  private IllegalArgumentException invalid(String name, String value, String allowed) {
    return new IllegalArgumentException(
        tool + " option '" + name + "' must be " + allowed + " but was '" + value + "'");
  }

  /** Entry points are paths; one starting with '-' would be read as a flag. */
  static void checkEntrypoints(String tool, List<String> entrypoints) {
    if (entrypoints.isEmpty()) {
      throw new IllegalArgumentException(tool + " needs at least one entry point");
    }
    for (String entry : entrypoints) {
      if (entry.isEmpty() || entry.startsWith("-")) {
        throw new IllegalArgumentException(
            tool + " entry point '" + entry + "' is not a file path (write ./" + entry + " if it is)");
      }
    }
  }
}
