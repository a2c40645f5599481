package dev.buildnet.internal.bundle;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses {@code bun build}'s log. Each message is a code excerpt ({@code 3 | source} and a caret
 * line), then {@code error: text} or {@code warn: text} at column 0, then, if it has a location,
 * {@code     at /absolute/file:line:column} with a 1-based character column. Messages without a
 * location (a missing entry point, a bad flag) are just the {@code error:} line.
 */
public final class BunDiagnostics extends LogDiagnostics {
  private static final Pattern LOCATION = Pattern.compile("^\\s+at (.+):(\\d+):(\\d+)$");

  public BunDiagnostics() {
    super(Pattern.compile("^(error|warn|warning): (.*)$"), false, "error", "BUN_ERROR");
  }

  @Override
  Location locate(String line, SourcePaths paths) {
    Matcher at = LOCATION.matcher(line);
    if (!at.matches()) {
      return null;
    }
    return new Location(
        paths.relative(at.group(1)), Integer.parseInt(at.group(2)), Integer.parseInt(at.group(3)));
  }
}
