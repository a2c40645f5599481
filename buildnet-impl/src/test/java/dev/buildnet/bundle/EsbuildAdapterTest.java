package dev.buildnet.bundle;

import dev.buildnet.internal.bundle.InstalledToolTest;
import dev.buildnet.internal.bundle.TestProjects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.bundle.Availability;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Runs the real esbuild installed by {@code npm ci --prefix buildnet-impl/src/test/node}. */
class EsbuildAdapterTest extends InstalledToolTest {
  private EsbuildAdapter adapter(Path workspace) {
    return EsbuildAdapter.builder(workspace).shell(SHELL).hashes(hashes).searchPath(null).build();
  }

  @Test
  void build_bundlesTheImportAndReportsArtifactsWithDigests() throws Exception {
    Path ws = TestProjects.workspace(dir, "esbuild");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/main.ts"), Map.of()));

    assertTrue(r.success(), () -> "errors: " + r.errors());
    assertEquals("build-1", r.buildId());
    Path out = ws.resolve("dist/main.js");
    String js = Files.readString(out);
    assertTrue(js.contains("hello ${name}") && js.contains("greet(\"world\")"), js);
    assertEquals(
        List.of(new Artifact("dist/main.js", Files.size(out), hashes.hash(out))), r.artifacts());
    assertEquals(List.of(), r.errors());
    assertTrue(r.metrics().phases().build().toNanos() > 0);
    assertTrue(r.metrics().totalDuration().compareTo(r.metrics().phases().build()) >= 0);
  }

  @Test
  void build_syntaxError_isAFailedResultLocatedAtTheRightPlace() throws Exception {
    Path ws = TestProjects.workspace(dir, "esbuild");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/bad.ts"), Map.of()));

    assertFalse(r.success());
    assertEquals(
        List.of(new BuildError("ESBUILD_ERROR", "Unexpected \";\"", "src/bad.ts", 3, 15)), r.errors());
    assertEquals(List.of(), r.artifacts());
  }

  @Test
  void build_warnings_doNotFailTheBuild() throws Exception {
    Path ws = TestProjects.workspace(dir, "esbuild");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/warn.js"), Map.of()));

    assertTrue(r.success(), () -> "errors: " + r.errors());
    assertEquals(3, r.warnings().size(), () -> "warnings: " + r.warnings());
    assertTrue(r.warnings().get(0).startsWith("src/warn.js:1:18: Using direct eval"), r.warnings().get(0));
  }

  @Test
  void build_mapsOptionsToFlags() throws Exception {
    Path ws = TestProjects.workspace(dir, "esbuild");
    Map<String, String> options =
        Map.of("minify", "true", "format", "esm", "platform", "node", "target", "es2020", "sourcemap", "external");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/main.ts"), options));

    assertTrue(r.success(), () -> "errors: " + r.errors());
    assertEquals(
        List.of("dist/main.js", "dist/main.js.map"),
        r.artifacts().stream().map(Artifact::path).toList());
    assertFalse(Files.readString(ws.resolve("dist/main.js")).contains("\n  "), "minified");
  }

  @Test
  void build_unknownOrInvalidOption_isRejectedWithWhatIsAllowed() throws Exception {
    Path ws = TestProjects.workspace(dir, "esbuild");
    EsbuildAdapter esbuild = adapter(ws);

    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> esbuild.build(TestProjects.context(ws, List.of("src/main.ts"), Map.of("minfy", "true"))));
    assertEquals(
        "esbuild option 'minfy' is not supported; supported options:"
            + " [format, minify, platform, sourcemap, splitting, target]",
        unknown.getMessage());
    IllegalArgumentException bad =
        assertThrows(
            IllegalArgumentException.class,
            () -> esbuild.build(TestProjects.context(ws, List.of("src/main.ts"), Map.of("format", "amd"))));
    assertEquals(
        "esbuild option 'format' must be one of [cjs, esm, iife] but was 'amd'", bad.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> esbuild.build(TestProjects.context(ws, List.of("--outdir=/tmp"), Map.of())));
  }

  @Test
  void version_isEsbuildsOwn() throws Exception {
    Path ws = TestProjects.workspace(dir, "esbuild");

    assertEquals("0.28.2", adapter(ws).version());
  }

  @Test
  void availability_whenMissing_saysWhereItLooked() {
    EsbuildAdapter esbuild =
        EsbuildAdapter.builder(dir).shell(SHELL).hashes(hashes).searchPath("/nonexistent/bin").build();

    Availability a = esbuild.availability();

    assertFalse(a.available());
    assertEquals(
        "esbuild not found: looked for "
            + dir.resolve("node_modules/.bin/esbuild")
            + " and on PATH (/nonexistent/bin)",
        a.reason());
    assertEquals("unknown", esbuild.version());
  }

  @Test
  void availability_fallsBackToTheSearchPath() {
    Path bin = TestProjects.nodeModules("esbuild").resolve(".bin");
    EsbuildAdapter esbuild =
        EsbuildAdapter.builder(dir).shell(SHELL).hashes(hashes).searchPath("/nonexistent:" + bin).build();

    Availability a = esbuild.availability();

    assertTrue(a.available(), a.reason());
    assertEquals("esbuild at " + bin.resolve("esbuild"), a.reason());
  }
}
