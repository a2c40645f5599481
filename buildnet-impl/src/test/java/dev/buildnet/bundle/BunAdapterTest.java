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

/** Runs the real Bun installed by {@code npm ci --prefix buildnet-impl/src/test/node}. */
class BunAdapterTest extends InstalledToolTest {
  private BunAdapter adapter(Path workspace) {
    return BunAdapter.builder(workspace).shell(SHELL).hashes(hashes).searchPath(null).build();
  }

  @Test
  void build_bundlesTheImportAndReportsArtifactsWithDigests() throws Exception {
    Path ws = TestProjects.workspace(dir, "bun");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/main.ts"), Map.of()));

    assertTrue(r.success(), () -> "errors: " + r.errors());
    Path out = ws.resolve("dist/main.js");
    String js = Files.readString(out);
    assertTrue(js.contains("hello ${name}") && js.contains("greet(\"world\")"), js);
    assertEquals(
        List.of(new Artifact("dist/main.js", Files.size(out), hashes.hash(out))), r.artifacts());
    assertTrue(r.metrics().phases().build().toNanos() > 0);
    // Peak memory is sampled (first at 10 ms); a fast bun run may finish before any sample, so it
    // is not asserted here. ProcessShellProviderTest covers sampling with a command that lasts.
  }

  @Test
  void build_syntaxError_isAFailedResultLocatedAtTheRightPlace() throws Exception {
    Path ws = TestProjects.workspace(dir, "bun");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/bad.ts"), Map.of()));

    assertFalse(r.success());
    assertEquals(List.of(new BuildError("BUN_ERROR", "Unexpected ;", "src/bad.ts", 3, 15)), r.errors());
    assertEquals(List.of(), r.artifacts());
  }

  @Test
  void build_mapsOptionsToFlags() throws Exception {
    Path ws = TestProjects.workspace(dir, "bun");
    Map<String, String> options =
        Map.of("minify", "true", "target", "node", "format", "esm", "sourcemap", "true");

    BuildResult r = adapter(ws).build(TestProjects.context(ws, List.of("src/main.ts"), options));

    assertTrue(r.success(), () -> "errors: " + r.errors());
    assertEquals(
        List.of("dist/main.js", "dist/main.js.map"),
        r.artifacts().stream().map(Artifact::path).toList());
  }

  @Test
  void build_unknownOption_isRejected() throws Exception {
    Path ws = TestProjects.workspace(dir, "bun");

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> adapter(ws).build(TestProjects.context(ws, List.of("src/main.ts"), Map.of("platform", "node"))));
    assertEquals(
        "bun option 'platform' is not supported; supported options:"
            + " [format, minify, sourcemap, splitting, target]",
        e.getMessage());
  }

  @Test
  void version_isBunsOwn() throws Exception {
    Path ws = TestProjects.workspace(dir, "bun");

    assertEquals("1.4.5", adapter(ws).version());
  }

  @Test
  void availability_whenMissing_saysWhereItLooked() {
    Availability a =
        BunAdapter.builder(dir).shell(SHELL).hashes(hashes).searchPath(null).build().availability();

    assertFalse(a.available());
    assertEquals(
        "bun not found: looked for " + dir.resolve("node_modules/.bin/bun") + " and on PATH (PATH is not set)",
        a.reason());
  }
}
