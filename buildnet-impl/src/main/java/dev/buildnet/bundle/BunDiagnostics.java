package dev.buildnet.bundle;

import dev.buildnet.api.build.BuildError;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses {@code bun build}'s log. Each message is a code excerpt ({@code 3 | source} and a caret
 * line), then {@code error: text} or {@code warn: text} at column 0, then, if it has a location,
 * {@code     at /absolute/file:line:column} with a 1-based character column. Messages without a
 * location (a missing entry point, a bad flag) are just the {@code error:} line.
 */
final class BunDiagnostics implements DiagnosticParser {
  private static final Pattern MESSAGE = Pattern.compile("^(error|warn|warning): (.*)$");
  private static final Pattern LOCATION = Pattern.compile("^\\s+at (.+):(\\d+):(\\d+)$");

  @Override
  public Diagnostics parse(String stdout, String stderr, SourcePaths paths) {
    List<BuildError> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<String> lines = DiagnosticParser.stripAnsi(stderr).lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      Matcher message = MESSAGE.matcher(lines.get(i));
      if (!message.matches()) {
        continue;
      }
      String text = message.group(2).strip();
      String file = null;
      int line = 0;
      int column = 0;
      if (i + 1 < lines.size()) {
        Matcher location = LOCATION.matcher(lines.get(i + 1));
        if (location.matches()) {
          file = paths.relative(location.group(1));
          line = Integer.parseInt(location.group(2));
          column = Integer.parseInt(location.group(3));
        }
      }
      if (message.group(1).equals("error")) {
        errors.add(new BuildError("BUN_ERROR", text, file, line, column));
      } else {
        warnings.add(Diagnostics.render(file, line, column, text));
      }
    }
    return new Diagnostics(errors, warnings);
  }
}
