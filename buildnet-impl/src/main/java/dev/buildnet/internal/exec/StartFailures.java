package dev.buildnet.internal.exec;

import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.NotStartedException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Turns the JDK's start failure ({@code error=2, No such file or directory} for a missing program
 * and a missing directory alike) into a message that says which one it was. Checks happen only
 * after a failure, so a successful start pays nothing for them.
 */
public final class StartFailures {
  private StartFailures() {}

  public static NotStartedException explain(CommandSpec spec, IOException failure, String hostPath) {
    String program = spec.argv().get(0);
    Path dir = spec.workingDirectory();
    String message;
    if (!Files.exists(dir)) {
      message = "cannot run '" + program + "': working directory " + dir + " does not exist";
    } else if (!Files.isDirectory(dir)) {
      message = "cannot run '" + program + "': working directory " + dir + " is not a directory";
    } else if (program.indexOf('/') >= 0) {
      message = explainPath(program, dir);
    } else {
      message = explainSearch(program, hostPath);
    }
    return new NotStartedException(NotStartedException.Reason.COMMAND,
        message + " (" + failure.getMessage() + ")", failure);
  }

  private static String explainPath(String program, Path dir) {
    Path file;
    try {
      file = dir.resolve(program);
    } catch (InvalidPathException e) {
      return "cannot run '" + program + "': not a valid path";
    }
    if (!Files.exists(file)) {
      return "cannot run '" + program + "': " + file + " does not exist";
    }
    if (Files.isDirectory(file)) {
      return "cannot run '" + program + "': " + file + " is a directory";
    }
    if (!Files.isExecutable(file)) {
      return "cannot run '" + program + "': " + file + " is not executable";
    }
    return "cannot run '" + program + "' (" + file + ")";
  }

  private static String explainSearch(String program, String hostPath) {
    // The JDK looks argv[0] up on this JVM's PATH, not on the child's environment.
    String path = hostPath == null ? "" : hostPath;
    for (String entry : path.split(File.pathSeparator, -1)) {
      Path candidate;
      try {
        candidate = Path.of(entry.isEmpty() ? "." : entry).resolve(program);
      } catch (InvalidPathException e) {
        continue;
      }
      if (Files.isRegularFile(candidate) && !Files.isExecutable(candidate)) {
        return "cannot run '" + program + "': found " + candidate + " on PATH but it is not executable";
      }
      if (Files.isRegularFile(candidate)) {
        return "cannot run '" + program + "' (found at " + candidate + ")";
      }
    }
    return "cannot run '"
        + program
        + "': program not found on this JVM's PATH ("
        + (hostPath == null ? "PATH is not set" : "PATH=" + hostPath)
        + ")";
  }
}
