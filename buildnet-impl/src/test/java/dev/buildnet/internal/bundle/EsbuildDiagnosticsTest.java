package dev.buildnet.internal.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.build.BuildError;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs on esbuild 0.28.2's real stderr, captured from the fixture project. */
class EsbuildDiagnosticsTest {
  private final Path project = TestProjects.fixture();
  private final DiagnosticParser.SourcePaths paths = new DiagnosticParser.SourcePaths(project, project);

  @Test
  void syntaxError_isLocatedWithAOneBasedColumn() throws Exception {
    Diagnostics d =
        new EsbuildDiagnostics().parse("", TestProjects.fixtureText("esbuild-syntax-error.stderr"), paths);

    // esbuild prints 3:14 (0-based); the ';' is the 15th character.
    assertEquals(
        List.of(new BuildError("ESBUILD_ERROR", "Unexpected \";\"", "src/bad.ts", 3, 15)), d.errors());
    assertEquals(List.of(), d.warnings());
  }

  @Test
  void mixedLog_separatesErrorsAndWarnings_andIgnoresLocationsInNotes() throws Exception {
    Diagnostics d = new EsbuildDiagnostics().parse("", TestProjects.fixtureText("esbuild-mixed.stderr"), paths);

    assertEquals(
        List.of(
            new BuildError(
                "ESBUILD_ERROR", "Could not resolve \"./does-not-exist\"", "src/missing.js", 1, 22),
            // esbuild counts bytes: 36 there, but é and ö are one character each.
            new BuildError("ESBUILD_ERROR", "Unexpected \";\"", "src/unicode.ts", 1, 35)),
        d.errors());
    assertEquals(
        List.of(
            "src/warn.js:1:18: Using direct eval with a bundler is not recommended and may cause problems [direct-eval]",
            "src/warn.js:2:30: The \"typeof\" operator will never evaluate to \"strng\" [impossible-typeof]",
            "src/warn.js:3:26: Duplicate key \"a\" in object literal [duplicate-object-key]"),
        d.warnings());
  }

  @Test
  void errorWithoutLocation_hasNoFile() throws Exception {
    Diagnostics d =
        new EsbuildDiagnostics().parse("", TestProjects.fixtureText("esbuild-no-location.stderr"), paths);

    assertEquals(
        List.of(new BuildError("ESBUILD_ERROR", "Could not resolve \"src/nonexist.js\"", null, 0, 0)),
        d.errors());
  }

  @Test
  void pathsAreRelativeToTheWorkspace_whenEsbuildRanInASubdirectory() throws Exception {
    Path src = project.resolve("src");
    String stderr = "✘ [ERROR] Unexpected \";\"\n\n    bad.ts:3:14:\n      3 │ let y = greet(;\n";

    Diagnostics d =
        new EsbuildDiagnostics().parse("", stderr, new DiagnosticParser.SourcePaths(project, src));

    assertEquals("src/bad.ts", d.errors().get(0).file());
    assertEquals(15, d.errors().get(0).column());
  }

  @Test
  void colouredLog_isParsedAsPlain() {
    String stderr =
        "\u001B[31m✘ [\u001B[41;31mERROR\u001B[41;97m] \u001B[0m\u001B[1mboom\u001B[0m\n\n"
            + "    \u001B[37mnowhere.js:2:0:\u001B[0m\n";
    Diagnostics d = new EsbuildDiagnostics().parse("", stderr, paths);

    assertEquals(List.of(new BuildError("ESBUILD_ERROR", "boom", "nowhere.js", 2, 1)), d.errors());
  }
}
