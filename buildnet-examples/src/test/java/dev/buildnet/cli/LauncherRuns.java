package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the packaged {@code bin/buildnet} (the pom passes its path as {@code buildnet.launcher}) the
 * way the daemon ITs need it: in a workspace, with a private daemon directory and cache, the JVM
 * under test, no archive dumping, and none of the caller's launcher settings.
 */
final class LauncherRuns {
  private LauncherRuns() {}

  /** One finished run: exit code, output and the launcher's pid. */
  record Result(int code, String out, String err, long pid) {
    String all() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  static ProcessBuilder launcher(Path ws, Path daemonDir, Path tmp, List<String> args) {
    String launcher = System.getProperty("buildnet.launcher");
    assertTrue(launcher != null && Files.isExecutable(Path.of(launcher)),
        "the pom passes buildnet.launcher, the packaged bin/buildnet");
    List<String> command = new ArrayList<>();
    command.add(launcher);
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).directory(ws.toFile());
    Map<String, String> env = pb.environment();
    env.put("JAVA", Path.of(System.getProperty("java.home.for.tests",
        System.getProperty("java.home")), "bin", "java").toString());
    env.put("BUILDNET_DAEMON_DIR", daemonDir.toString());
    env.put("XDG_CACHE_HOME", tmp.resolve("cache").toString());
    env.put("BUILDNET_CDS", "0"); // each test's own cache: dumping an archive would only cost time
    env.remove("BUILDNET_NO_DAEMON");
    env.remove("JAVA_OPTS");
    env.remove("BUILDNET_OPTS");
    env.remove("BUILDNET_DAEMON_OPTS");
    env.remove("CI"); // the same either way; kept out so both paths read the same environment
    return pb;
  }

  /** Runs {@code pb} to its end (failing after {@code deadlineSeconds}), output kept in files. */
  static Result run(ProcessBuilder pb, Path tmp, long deadlineSeconds) throws Exception {
    Path out = Files.createTempFile(tmp, "out", ".txt");
    Path err = Files.createTempFile(tmp, "err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(p.waitFor(deadlineSeconds, TimeUnit.SECONDS),
        "buildnet " + pb.command().subList(1, pb.command().size()) + " did not exit");
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err), p.pid());
  }
}
