package dev.buildnet.internal.bundle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses esbuild's human-readable log (the CLI has no machine-readable one). Each message is a
 * header at column 0, {@code ✘ [ERROR] text} or {@code ▲ [WARNING] text}; if it has a location,
 * the first line after it, indented four spaces, is {@code file:line:column:}, followed by a code
 * excerpt and indented notes (which may carry locations of their own, ignored here).
 *
 * <p>esbuild's column is 0-based and counts UTF-8 bytes; {@link dev.buildnet.api.build.BuildError}
 * wants a 1-based character column, so the source line is read to convert it where the file is
 * readable.
 */
public final class EsbuildDiagnostics extends LogDiagnostics {
  private static final Pattern LOCATION = Pattern.compile("^ {4}(\\S.*):(\\d+):(\\d+):$");

  public EsbuildDiagnostics() {
    super(Pattern.compile("^\\S*\\s*\\[(ERROR|WARNING)\\] (.*)$"), true, "ERROR", "ESBUILD_ERROR");
  }

  /** esbuild prints {@code file:line:byteColumn:}; the column is converted to characters. */
  @Override
  Location locate(String text, SourcePaths paths) {
    Matcher at = LOCATION.matcher(text);
    if (!at.matches()) {
      return null;
    }
    String printed = at.group(1);
    int line = Integer.parseInt(at.group(2));
    int column = characterColumn(paths.absolute(printed), line, Integer.parseInt(at.group(3)));
    return new Location(paths.relative(printed), line, column);
  }

  /** The 1-based character column of esbuild's 0-based byte offset into {@code line}. */
  static int characterColumn(Path file, int line, int byteColumn) {
    if (file == null || line < 1) {
      return byteColumn + 1;
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException | RuntimeException e) {
      return byteColumn + 1;
    }
    int start = 0;
    for (int current = 1; current < line; current++) {
      int newline = indexOf(bytes, (byte) '\n', start);
      if (newline < 0) {
        return byteColumn + 1;
      }
      start = newline + 1;
    }
    int end = Math.min(bytes.length, start + byteColumn);
    String prefix = new String(bytes, start, end - start, StandardCharsets.UTF_8);
    return prefix.codePointCount(0, prefix.length()) + 1;
  }

  private static int indexOf(byte[] bytes, byte b, int from) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
