package dev.buildnet.internal.bundle;

import dev.buildnet.api.build.BuildError;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The skeleton of a parser for a tool's human-readable log on stderr: each message starts with a
 * header line naming its severity and text, and the lines after the header may say where it is.
 * The header of an error becomes a located {@link BuildError}; any other severity a warning.
 */
abstract class LogDiagnostics implements DiagnosticParser {
  /** Where a message points: a workspace-relative file and 1-based line and column. */
  record Location(String file, int line, int column) {
    static final Location NOWHERE = new Location(null, 0, 0);
  }

  private final Pattern header;
  private final boolean blankLinesBeforeLocation;
  private final String errorSeverity;
  private final String errorCode;

  /**
   * @param header matches a message's first line: group 1 the severity, group 2 the text
   * @param blankLinesBeforeLocation whether blank lines may stand between header and location
   * @param errorSeverity the severity (group 1) that makes a message an error
   * @param errorCode the code of the {@link BuildError}s it reports
   */
  LogDiagnostics(
      Pattern header, boolean blankLinesBeforeLocation, String errorSeverity, String errorCode) {
    this.header = header;
    this.blankLinesBeforeLocation = blankLinesBeforeLocation;
    this.errorSeverity = errorSeverity;
    this.errorCode = errorCode;
  }

  @Override
  public final Diagnostics parse(String stdout, String stderr, SourcePaths paths) {
    List<BuildError> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<String> lines = DiagnosticParser.stripAnsi(stderr).lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      Matcher message = header.matcher(lines.get(i));
      if (!message.matches()) {
        continue;
      }
      String text = message.group(2).strip();
      int next = i + 1;
      while (blankLinesBeforeLocation && next < lines.size() && lines.get(next).isBlank()) {
        next++;
      }
      Location located = next < lines.size() ? locate(lines.get(next), paths) : null;
      Location at = located == null ? Location.NOWHERE : located;
      if (message.group(1).equals(errorSeverity)) {
        errors.add(new BuildError(errorCode, text, at.file(), at.line(), at.column()));
      } else {
        warnings.add(Diagnostics.render(at.file(), at.line(), at.column(), text));
      }
    }
    return new Diagnostics(errors, warnings);
  }

  /** Where {@code line}, the one after a message's header, says the message is; null if nowhere. */
  abstract Location locate(String line, SourcePaths paths);
}
