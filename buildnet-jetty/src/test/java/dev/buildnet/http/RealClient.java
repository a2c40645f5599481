package dev.buildnet.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Runs a real build tool (Bazel, Gradle) as a child process, its output kept in a file. */
final class RealClient {
  record Run(int exit, String output) {
    /** The integer in the first match of {@code regex}'s group 1, or -1. */
    int number(String regex) {
      Matcher m = Pattern.compile(regex).matcher(output);
      return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    long count(String regex) {
      return Pattern.compile(regex, Pattern.MULTILINE).matcher(output).results().count();
    }
  }

  private RealClient() {}

  /**
   * Runs {@code argv} (an argument list, no shell) in {@code dir} with {@code env} added, and
   * waits for it; 15 minutes bound a hang only.
   */
  static Run run(List<String> argv, Path dir, Map<String, String> env, Path log)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(15, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError(argv + " did not finish within 15 minutes:\n" + tail(log));
    }
    return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  static String tail(Path log) throws IOException {
    String s = Files.readString(log, StandardCharsets.UTF_8);
    return s.length() <= 6000 ? s : "…" + s.substring(s.length() - 6000);
  }

  /** Deletes a tree, including the read-only files and directories Bazel leaves. */
  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> all = Files.walk(root)) {
      all.forEach(p -> p.toFile().setWritable(true));
    }
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
