package dev.buildnet.internal.bundle;

import java.nio.file.Path;

/** Reads a tool's diagnostics out of its output. Pure: no process, only text and source files. */
public interface DiagnosticParser {
  /**
   * @param stdout the tool's standard output
   * @param stderr the tool's standard error
   * @param paths how to turn the paths the tool printed into workspace-relative ones
   */
  Diagnostics parse(String stdout, String stderr, SourcePaths paths);

  /** Resolves printed paths against the directory the tool ran in, relative to the workspace. */
  record SourcePaths(Path workspace, Path workingDirectory) {
    /**
     * The workspace-relative form ({@code /}-separated) of {@code printed}, or {@code printed}
     * unchanged when it is not a path inside the workspace (a virtual module, say).
     */
    String relative(String printed) {
      Path file = absolute(printed);
      if (file == null) {
        return printed;
      }
      Path root = workspace.toAbsolutePath().normalize();
      if (!file.startsWith(root)) {
        return printed;
      }
      return root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
    }

    /** The file {@code printed} names, or null if it is not a path. */
    Path absolute(String printed) {
      try {
        return workingDirectory.toAbsolutePath().resolve(printed).normalize();
      } catch (java.nio.file.InvalidPathException e) {
        return null;
      }
    }
  }

  /** Drops ANSI colour and cursor sequences, in case the environment forces colour on. */
  static String stripAnsi(String text) {
    return text.replaceAll("\u001B\\[[0-9;?]*[A-Za-z]", "");
  }
}
