package dev.buildnet.api.build;

import java.util.Objects;

/**
 * An error a build reported, located in a source file where the tool said where.
 *
 * @param code a short machine-readable code, e.g. {@code "ESBUILD_ERROR"}, {@code "EXIT_CODE"}
 * @param message what the tool said
 * @param file the file it points at, relative to the workspace where possible; null if none
 * @param line 1-based line, or 0 if unknown
 * @param column 1-based column, or 0 if unknown
 * @since 0.1
 */
public record BuildError(String code, String message, String file, int line, int column) {
  public BuildError {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
    if (line < 0 || column < 0) {
      throw new IllegalArgumentException("line and column must not be negative");
    }
  }

  /** An error not tied to a source location. */
  public static BuildError of(String code, String message) {
    return new BuildError(code, message, null, 0, 0);
  }

  /** {@code file:line:column: message}, or just the message when there is no file. */
  @Override
  public String toString() {
    if (file == null) {
      return code + ": " + message;
    }
    return file + (line > 0 ? ":" + line + (column > 0 ? ":" + column : "") : "") + ": " + message;
  }
}
