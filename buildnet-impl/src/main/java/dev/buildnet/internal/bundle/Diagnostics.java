package dev.buildnet.internal.bundle;

import dev.buildnet.api.build.BuildError;
import java.util.List;

/** What a tool reported: located errors, and warnings rendered as one line each. */
public record Diagnostics(List<BuildError> errors, List<String> warnings) {
  public Diagnostics {
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }

  /** {@code file:line:column: message}, or the bare message when there is no file. */
  static String render(String file, int line, int column, String message) {
    if (file == null) {
      return message;
    }
    return new BuildError("W", message, file, line, column).toString();
  }
}
