package dev.buildnet.bundle;

import dev.buildnet.api.build.BuildError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses esbuild's human-readable log (the CLI has no machine-readable one). Each message is a
 * header at column 0, {@code ✘ [ERROR] text} or {@code ▲ [WARNING] text}; if it has a location,
 * the first line after it, indented four spaces, is {@code file:line:column:}, followed by a code
 * excerpt and indented notes (which may carry locations of their own, ignored here).
 *
 * <p>esbuild's column is 0-based and counts UTF-8 bytes; {@link BuildError} wants a 1-based
 * character column, so the source line is read to convert it where the file is readable.
 */
final class EsbuildDiagnostics implements DiagnosticParser {
  private static final Pattern HEADER = Pattern.compile("^\\S*\\s*\\[(ERROR|WARNING)\\] (.*)$");
  private static final Pattern LOCATION = Pattern.compile("^ {4}(\\S.*):(\\d+):(\\d+):$");

  @Override
  public Diagnostics parse(String stdout, String stderr, SourcePaths paths) {
    List<BuildError> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<String> lines = DiagnosticParser.stripAnsi(stderr).lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      Matcher header = HEADER.matcher(lines.get(i));
      if (!header.matches()) {
        continue;
      }
      String message = header.group(2).strip();
      String file = null;
      int line = 0;
      int column = 0;
      int next = i + 1;
      while (next < lines.size() && lines.get(next).isBlank()) {
        next++;
      }
      if (next < lines.size()) {
        Matcher location = LOCATION.matcher(lines.get(next));
        if (location.matches()) {
          String printed = location.group(1);
          line = Integer.parseInt(location.group(2));
          column = characterColumn(paths.absolute(printed), line, Integer.parseInt(location.group(3)));
          file = paths.relative(printed);
        }
      }
      if (header.group(1).equals("ERROR")) {
        errors.add(new BuildError("ESBUILD_ERROR", message, file, line, column));
      } else {
        warnings.add(Diagnostics.render(file, line, column, message));
      }
    }
    return new Diagnostics(errors, warnings);
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
