package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every command of the packaged CLI ({@code java -jar buildnet.jar}), run as a real child process
 * with each kind of bad input: exit code 2, one message saying what is wrong, and no stack trace
 * unless {@code --stacktrace} asks for one. A failed build exits 1.
 */
class CliErrorsIT {
  private static final String VALID_SECRET = "0123456789abcdef-a-long-enough-secret";
  private static final String GOOD = "{\"version\": 1, \"targets\": {\"a\": {\"command\": [\"true\"]}}}";

  @TempDir Path ws;

  /** What a case writes into the workspace before running. */
  enum Setup {
    NOTHING,
    GOOD_WORKSPACE,
    MALFORMED_JSON,
    UNKNOWN_FIELD,
    CYCLE,
    META_DIR_IS_A_FILE,
    SHORT_SECRET
  }

  static Stream<Arguments> badInputs() {
    return Stream.of(
        // build
        bad(Setup.NOTHING, "buildnet.json does not exist: it declares the workspace's targets",
            "build"),
        bad(Setup.MALFORMED_JSON, "buildnet.json:2:1: malformed JSON", "build"),
        bad(Setup.UNKNOWN_FIELD, "buildnet.json:1:\\d+: unknown field 'bogus'", "build"),
        bad(Setup.CYCLE, "dependency cycle: a -> b -> a", "build"),
        bad(Setup.GOOD_WORKSPACE, "unknown target 'nope'", "build", "nope"),
        bad(Setup.GOOD_WORKSPACE, "Unknown option: '--bogus'", "build", "--bogus"),
        bad(Setup.GOOD_WORKSPACE, "is not an existing directory", "build", "-w", "no-such-dir"),
        bad(Setup.META_DIR_IS_A_FILE, "cannot start BuildNet in .*\\.buildnet", "build"),
        bad(Setup.GOOD_WORKSPACE, "mutually exclusive", "build", "--verbose", "--quiet"),
        bad(Setup.GOOD_WORKSPACE, "--slots.*'-1': a number of slots cannot be negative", "build",
            "-j", "-1"),
        bad(Setup.GOOD_WORKSPACE, "expected one of \\[dot, json\\]", "build", "--graph=svg"),
        bad(Setup.GOOD_WORKSPACE, "unknown target 'nope'", "build", "--dry-run", "nope"),
        bad(Setup.GOOD_WORKSPACE, "git diff failed: .*[Nn]ot a git repository", "build",
            "--filter", "[HEAD]"),
        bad(Setup.GOOD_WORKSPACE, "not a git revision", "build", "--filter", "[--output=x]"),
        // list and clean
        bad(Setup.NOTHING, "buildnet.json does not exist", "list"),
        bad(Setup.NOTHING, "buildnet.json does not exist", "clean"),
        bad(Setup.GOOD_WORKSPACE, "mutually exclusive", "clean", "--cache", "--all"),
        bad(Setup.GOOD_WORKSPACE, "^error: --outputs, --cache are mutually exclusive", "clean",
            "--outputs", "--cache"),
        bad(Setup.GOOD_WORKSPACE, "Unknown option: '--bogus'", "version", "--bogus"),
        // explain
        bad(Setup.GOOD_WORKSPACE, "'a' has not been built in this workspace yet", "explain", "a"),
        bad(Setup.GOOD_WORKSPACE, "unknown target 'nope'", "explain", "nope"),
        bad(Setup.GOOD_WORKSPACE, "Missing required parameter: 'TARGET'", "explain"),
        bad(Setup.NOTHING, "buildnet.json does not exist", "explain", "a"),
        // gc
        bad(Setup.GOOD_WORKSPACE, "--max-bytes.*'-1': a size cannot be negative", "gc", "--max-bytes",
            "-1"),
        bad(Setup.GOOD_WORKSPACE, "'abc' is not a size", "gc", "--max-bytes", "abc"),
        bad(Setup.GOOD_WORKSPACE, "'10X' is not a size", "gc", "--max-bytes", "10X"),
        bad(Setup.UNKNOWN_FIELD, "unknown field 'bogus'", "gc"),
        // demo
        bad(Setup.META_DIR_IS_A_FILE, "Not a directory", "demo", "--dir", "buildnet.json"),
        bad(Setup.NOTHING, "Unknown option: '--bogus'", "demo", "--bogus"),
        // serve
        bad(Setup.SHORT_SECRET, "secret must be at least 16 bytes", "serve", "--secret-file",
            "secret", "--listen", "127.0.0.1:0"),
        bad(Setup.GOOD_WORKSPACE, "secret file missing does not exist", "serve",
            "--secret-file", "missing"),
        bad(Setup.GOOD_WORKSPACE, "Missing required option: '--secret-file", "serve"),
        bad(Setup.GOOD_WORKSPACE, "--local-slots.*cannot be negative", "serve", "--secret-file",
            "good-secret", "--listen", "127.0.0.1:0", "--local-slots", "-1"),
        bad(Setup.GOOD_WORKSPACE, "--placement-timeout.*'-1': it must be more than 0", "serve",
            "--secret-file", "good-secret", "--listen", "127.0.0.1:0", "--placement-timeout", "-1"),
        bad(Setup.GOOD_WORKSPACE, "--heartbeat-timeout.*'0': it must be more than 0", "serve",
            "--secret-file", "good-secret", "--listen", "127.0.0.1:0", "--heartbeat-timeout", "0"),
        bad(Setup.GOOD_WORKSPACE, "--listen must be HOST:PORT but was 'nowhere'", "serve",
            "--secret-file", "good-secret", "--listen", "nowhere"),
        bad(Setup.GOOD_WORKSPACE, "--http needs --http-token-file FILE", "serve",
            "--secret-file", "good-secret", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"),
        bad(Setup.UNKNOWN_FIELD, "unknown field 'bogus'", "serve", "--secret-file", "good-secret",
            "--listen", "127.0.0.1:0"),
        // worker
        bad(Setup.SHORT_SECRET, "secret must be at least 16 bytes", "worker", "--master",
            "127.0.0.1:1", "--secret-file", "secret"),
        bad(Setup.NOTHING, "secret file missing does not exist", "worker", "--master",
            "127.0.0.1:1", "--secret-file", "missing"),
        bad(Setup.GOOD_WORKSPACE, "--master must be HOST:PORT but was 'nowhere'", "worker",
            "--master", "nowhere", "--secret-file", "good-secret"),
        bad(Setup.GOOD_WORKSPACE, "--slots.*cannot be negative", "worker", "--master",
            "127.0.0.1:1", "--secret-file", "good-secret", "-j", "-2"),
        bad(Setup.GOOD_WORKSPACE, "--memory-mb.*'-5': it must be more than 0", "worker",
            "--master", "127.0.0.1:1", "--secret-file", "good-secret", "--memory-mb", "-5"),
        bad(Setup.GOOD_WORKSPACE, "--bundlers knows esbuild, bun and none, not 'webpack'",
            "worker", "--master", "127.0.0.1:1", "--secret-file", "good-secret", "--bundlers",
            "webpack"),
        // submit
        bad(Setup.SHORT_SECRET, "secret must be at least 16 bytes", "submit", "--master",
            "127.0.0.1:1", "--secret-file", "secret", "a"),
        bad(Setup.NOTHING, "secret file missing does not exist", "submit", "--master",
            "127.0.0.1:1", "--secret-file", "missing", "a"),
        bad(Setup.GOOD_WORKSPACE, "--master must be HOST:PORT but was 'nowhere'", "submit",
            "--master", "nowhere", "--secret-file", "good-secret", "a"),
        bad(Setup.GOOD_WORKSPACE, "Missing required parameter: 'TARGET'", "submit", "--master",
            "127.0.0.1:1", "--secret-file", "good-secret"),
        bad(Setup.GOOD_WORKSPACE, "--logs and --no-logs are mutually exclusive", "submit",
            "--master", "127.0.0.1:1", "--secret-file", "good-secret", "--logs", "--no-logs", "a"),
        // daemon
        bad(Setup.NOTHING, "^error: workspace .*no-such-dir is not an existing directory", "daemon",
            "status", "-w", "no-such-dir"),
        bad(Setup.NOTHING, "^error: workspace .*no-such-dir is not an existing directory", "daemon",
            "stop", "-w", "no-such-dir"),
        // the top level
        bad(Setup.NOTHING, "Unknown subcommand or option|Unmatched argument", "bulid"));
  }

  private static Arguments bad(Setup setup, String expected, String... args) {
    return Arguments.of(String.join(" ", args), setup, expected, List.of(args));
  }

  @ParameterizedTest(name = "buildnet {0} ({1})")
  @MethodSource("badInputs")
  void aBadInput_isOneMessage_exitCode2_noStackTrace(String name, Setup setup, String expected,
      List<String> args) throws Exception {
    prepare(setup);

    Result r = run(args);

    assertEquals(2, r.exitCode, r.output);
    assertFalse(r.output.contains("\tat "), "a stack trace was printed:\n" + r.output);
    assertTrue(r.output.startsWith("error: "), r.output);
    assertFalse(r.output.toLowerCase(java.util.Locale.ROOT).startsWith("error: error"),
        "the prefix is doubled:\n" + r.output);
    assertTrue(Pattern.compile(expected).matcher(r.output).find(),
        "expected /" + expected + "/ in:\n" + r.output);
    // One message: its first line says what is wrong (a graph's problems may follow as a list).
    for (String line : r.output.lines().skip(1).toList()) {
      assertTrue(line.startsWith("  - "), "more than one message:\n" + r.output);
    }
  }

  @Test
  void stacktrace_addsTheStackTraceToTheMessage() throws Exception {
    prepare(Setup.GOOD_WORKSPACE);

    Result r = run(List.of("explain", "a", "--stacktrace"));

    assertEquals(2, r.exitCode, r.output);
    assertTrue(r.output.startsWith("error: 'a' has not been built"), r.output);
    assertTrue(r.output.contains("\tat "), r.output);
  }

  @Test
  void aFailedBuild_exits1_withoutAStackTrace() throws Exception {
    Files.writeString(ws.resolve("buildnet.json"),
        "{\"version\": 1, \"targets\": {\"f\": {\"command\": [\"false\"]}}}");

    Result r = run(List.of("build"));

    assertEquals(1, r.exitCode, r.output);
    assertTrue(r.output.contains("failed"), r.output);
    assertFalse(r.output.contains("\tat "), r.output);
  }

  @Test
  void aGoodBuild_exits0() throws Exception {
    prepare(Setup.GOOD_WORKSPACE);

    Result r = run(List.of("build"));

    assertEquals(0, r.exitCode, r.output);
  }

  @Test
  void version_isACommand_withoutWarnings() throws Exception {
    Result r = run(List.of("version"));

    assertEquals(0, r.exitCode, r.output);
    assertTrue(r.output.startsWith("buildnet 0."), r.output);
    assertFalse(r.output.contains("WARNING"), r.output);
  }

  @Test
  void theJar_enablesNativeAccess_soJdk24AndLaterDoNotWarnOnEveryRun() throws Exception {
    Path jar = Path.of(System.getProperty("buildnet.jar", "target/buildnet.jar")).toAbsolutePath();
    try (java.util.jar.JarFile file = new java.util.jar.JarFile(jar.toFile())) {
      assertEquals("ALL-UNNAMED",
          file.getManifest().getMainAttributes().getValue("Enable-Native-Access"));
    }
  }

  private void prepare(Setup setup) throws IOException {
    Path file = ws.resolve("buildnet.json");
    Files.writeString(ws.resolve("good-secret"), VALID_SECRET);
    switch (setup) {
      case NOTHING -> { }
      case GOOD_WORKSPACE -> Files.writeString(file, GOOD);
      case MALFORMED_JSON -> Files.writeString(file, "{\"version\": 1, \"targets\": {\n");
      case UNKNOWN_FIELD -> Files.writeString(file,
          "{\"version\": 1, \"targets\": {\"a\": {\"command\": [\"true\"], \"bogus\": 1}}}");
      case CYCLE -> Files.writeString(file, "{\"version\": 1, \"targets\": {"
          + "\"a\": {\"command\": [\"true\"], \"deps\": [\"b\"]},"
          + "\"b\": {\"command\": [\"true\"], \"deps\": [\"a\"]}}}");
      case META_DIR_IS_A_FILE -> {
        Files.writeString(file, GOOD);
        Files.writeString(ws.resolve(".buildnet"), "not a directory");
      }
      case SHORT_SECRET -> {
        Files.writeString(file, GOOD);
        Files.writeString(ws.resolve("secret"), "short");
      }
      default -> throw new IllegalArgumentException(setup.name());
    }
  }

  private record Result(int exitCode, String output) {}

  private Result run(List<String> args) throws Exception {
    Path jar = Path.of(System.getProperty("buildnet.jar", "target/buildnet.jar")).toAbsolutePath();
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run 'mvn package' first");
    Path java = Path.of(System.getProperty("java.home.for.tests", System.getProperty("java.home")),
        "bin", "java");
    List<String> command = new ArrayList<>(List.of(java.toString(), "-jar", jar.toString()));
    command.addAll(args);
    Path log = Files.createTempFile("buildnet-cli", ".log");
    try {
      Process p = new ProcessBuilder(command).directory(ws.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      try {
        p.getOutputStream().close();
        // A failure bound only: every case here ends by itself at once.
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "buildnet " + args + " did not exit");
      } finally {
        p.destroyForcibly();
      }
      return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }
}
