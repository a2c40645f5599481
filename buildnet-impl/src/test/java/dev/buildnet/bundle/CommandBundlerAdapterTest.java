package dev.buildnet.bundle;

import dev.buildnet.internal.bundle.Sha256Hashes;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.exec.ProcessShellProvider;
import dev.buildnet.internal.exec.ScriptCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandBundlerAdapterTest {
  private static final ProcessShellProvider SHELL = ProcessShellProvider.create();
  private final Sha256Hashes hashes = new Sha256Hashes();

  @TempDir Path dir;

  private CommandBundlerAdapter adapter(List<String> argv, List<String> outputs) {
    return CommandBundlerAdapter.builder("script")
        .command(argv)
        .outputs(outputs)
        .version("1")
        .shell(SHELL)
        .hashes(hashes)
        .build();
  }

  private BuildContext context(Path workspace, List<String> entrypoints, Duration timeout) {
    return new BuildContext(
        "b-7",
        "my target",
        workspace,
        workspace,
        entrypoints,
        workspace.resolve("out dir"),
        Map.of(),
        Map.of(),
        timeout);
  }

  @Test
  void build_substitutesPlaceholdersAsWholeArguments_andDigestsTheOutputs() throws Exception {
    String script = "mkdir -p \"$1\" && printf '%s|' \"$@\" > \"$1/args.txt\" && printf hi > \"$1/b.txt\"";
    CommandBundlerAdapter adapter =
        adapter(
            ScriptCommands.bash(script, List.of("{outDir}", "{target}-{buildId}", "{entrypoints}")),
            List.of("{outDir}"));

    BuildResult r = adapter.build(context(dir, List.of("a b.ts", "c.ts"), null));

    assertTrue(r.success(), () -> "errors: " + r.errors());
    Path out = dir.resolve("out dir");
    assertEquals(
        out + "|my target-b-7|a b.ts|c.ts|", Files.readString(out.resolve("args.txt"), UTF_8));
    Path b = out.resolve("b.txt");
    assertEquals(
        new Artifact("out dir/b.txt", 2, hashes.hash("hi".getBytes(UTF_8))), r.artifacts().get(1));
    assertEquals(hashes.hash(b), r.artifacts().get(1).digest());
    assertEquals("out dir/args.txt", r.artifacts().get(0).path());
  }

  @Test
  void build_nonZeroExit_failsWithTheStderrTail() {
    CommandBundlerAdapter adapter =
        adapter(ScriptCommands.bash("echo compiling; echo 'bad thing happened' >&2; exit 4", List.of()), List.of());

    BuildResult r = adapter.build(context(dir, List.of(), null));

    assertFalse(r.success());
    assertEquals(1, r.errors().size());
    assertEquals("EXIT_CODE", r.errors().get(0).code());
    assertEquals("script exited with code 4:\nbad thing happened", r.errors().get(0).message());
  }

  @Test
  void build_missingDeclaredOutput_fails() {
    CommandBundlerAdapter adapter = adapter(List.of("true"), List.of("never-written.js"));

    BuildResult r = adapter.build(context(dir, List.of(), null));

    assertFalse(r.success());
    assertEquals("MISSING_OUTPUT", r.errors().get(0).code());
    assertTrue(r.errors().get(0).message().contains("never-written.js"), r.errors().get(0).message());
  }

  @Test
  void build_timeout_isAFailedResult() {
    CommandBundlerAdapter adapter = adapter(List.of("sleep", "30"), List.of());

    BuildResult r = adapter.build(context(dir, List.of(), Duration.ofMillis(300)));

    assertFalse(r.success());
    assertEquals("TIMEOUT", r.errors().get(0).code());
  }

  @Test
  void build_outputOutsideTheWorkspace_isRejected() {
    CommandBundlerAdapter adapter = adapter(List.of("true"), List.of("../elsewhere"));

    assertThrows(IllegalArgumentException.class, () -> adapter.build(context(dir, List.of(), null)));
  }

  @Test
  void availability_checksTheProgram() {
    assertTrue(adapter(List.of("bash"), List.of()).availability().available());
    assertFalse(adapter(List.of("/nonexistent/tool"), List.of()).availability().available());
    assertTrue(adapter(List.of("{workspace}/tool"), List.of()).availability().available());
  }

  @Test
  void builder_failsFastOnMissingOrRepeatedSettings() {
    IllegalStateException missing =
        assertThrows(
            IllegalStateException.class,
            () -> CommandBundlerAdapter.builder("x").command(List.of("true")).hashes(hashes).build());
    assertEquals("shell was not set: call shell(ShellProvider)", missing.getMessage());
    assertThrows(
        IllegalStateException.class,
        () -> CommandBundlerAdapter.builder("x").version("1").version("2"));
  }
}
