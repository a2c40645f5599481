package dev.buildnet.internal.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.build.BuildError;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs on Bun 1.4.5's real stderr captured from the fixture project (its path replaced). */
class BunDiagnosticsTest {
  private final Path project = TestProjects.fixture();
  private final DiagnosticParser.SourcePaths paths = new DiagnosticParser.SourcePaths(project, project);

  private Diagnostics parse(String fixture) throws Exception {
    String stderr = TestProjects.fixtureText(fixture).replace("@WORKSPACE@", project.toString());
    return new BunDiagnostics().parse("", stderr, paths);
  }

  @Test
  void syntaxErrors_inSeveralFiles_areEachLocated() throws Exception {
    assertEquals(
        List.of(
            new BuildError("BUN_ERROR", "Unexpected ;", "src/unicode.ts", 1, 35),
            new BuildError("BUN_ERROR", "Unexpected ;", "src/bad.ts", 3, 15)),
        parse("bun-syntax-errors.stderr").errors());
  }

  @Test
  void unresolvedImport_isLocated() throws Exception {
    assertEquals(
        List.of(
            new BuildError(
                "BUN_ERROR", "Could not resolve: \"./does-not-exist\"", "src/missing.js", 1, 22)),
        parse("bun-unresolved.stderr").errors());
  }

  @Test
  void errorWithoutLocation_hasNoFile() throws Exception {
    assertEquals(
        List.of(
            BuildError.of("BUN_ERROR", "ModuleNotFound resolving \"src/nonexist.js\" (entry point)")),
        parse("bun-no-location.stderr").errors());
  }

  @Test
  void warning_isRenderedWithItsLocation() {
    // Not captured: no input made Bun 1.4.5 warn. The shape follows its error messages.
    String stderr = "1 | x\n    ^\nwarn: something odd\n    at " + project + "/src/main.ts:1:1\n";

    Diagnostics d = new BunDiagnostics().parse("", stderr, paths);

    assertEquals(List.of(), d.errors());
    assertEquals(List.of("src/main.ts:1:1: something odd"), d.warnings());
  }

  @Test
  void fileOutsideTheWorkspace_keepsItsAbsolutePath() {
    Diagnostics d =
        new BunDiagnostics().parse("", "error: Unexpected ;\n    at /elsewhere/x.ts:2:3\n", paths);

    assertEquals(List.of(new BuildError("BUN_ERROR", "Unexpected ;", "/elsewhere/x.ts", 2, 3)), d.errors());
  }
}
