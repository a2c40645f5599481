package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the README's first command end to end: real javac, jar, java and esbuild processes. */
class DemoCommandTest {
  /** The esbuild that buildnet-impl's test phase installed with npm ci. */
  private static final Path TOOLS =
      Path.of("..", "buildnet-impl", "src", "test", "node", "node_modules", ".bin")
          .toAbsolutePath().normalize();

  @TempDir Path dir;

  private String run(String... args) {
    StringWriter text = new StringWriter();
    int code = BuildNetCli.run(new PrintWriter(text, true), args);
    assertEquals(0, code, text.toString());
    return text.toString();
  }

  @Test
  void theDemoBuildsEverythingThenServesEverythingFromTheCache() throws Exception {
    assertTrue(Files.isExecutable(TOOLS.resolve("esbuild")),
        "esbuild missing at " + TOOLS + ": run npm ci --prefix buildnet-impl/src/test/node");
    Path ws = dir.resolve("demo");
    String first = run("demo", "--dir", ws.toString(), "--tool-path", TOOLS.toString());
    assertTrue(first.contains("built 10, cached 0, failed 0"), first);
    assertTrue(Files.readString(ws.resolve("out/sample-report.txt")).contains("words per sentence"));
    assertTrue(Files.list(ws.resolve("out/web")).anyMatch(p -> p.toString().endsWith(".js")),
        "esbuild bundle missing");

    String second = run("demo", "--dir", ws.toString(), "--tool-path", TOOLS.toString());
    assertTrue(second.contains("built 0, cached 10, failed 0"), second);
    assertTrue(second.contains("hit ratio 100%"), second);
  }

  @Test
  void explainAfterAnEditNamesTheEditedFile() throws Exception {
    Path ws = dir.resolve("demo");
    run("demo", "--dir", ws.toString(), "--tool-path", "/nonexistent");
    Path source = ws.resolve("libs/text/src/demo/text/Words.java");
    Files.writeString(source, Files.readString(source) + "\n// edited\n");
    String build = run("build", "-w", ws.toString(), "text-jar");
    // A trailing comment leaves javac's classes byte-identical: the jar is cached (early cutoff).
    assertTrue(build.contains("built 1, cached 1"), build);
    String why = run("explain", "-w", ws.toString(), "text");
    assertTrue(why.contains("input libs/text/src/demo/text/Words.java changed"), why);
    String jar = run("explain", "-w", ws.toString(), "text-jar");
    assertTrue(jar.contains("cache hit"), jar);
    assertTrue(jar.contains("dependency text re-ran but its outputs are unchanged"), jar);
  }

  @Test
  void aFailingBuildExitsWithOneAndNamesTheError() throws Exception {
    Path ws = dir.resolve("demo");
    run("demo", "--dir", ws.toString(), "--tool-path", "/nonexistent");
    Path source = ws.resolve("libs/text/src/demo/text/Words.java");
    Files.writeString(source, "this is not java");
    StringWriter text = new StringWriter();
    int code = BuildNetCli.run(new PrintWriter(text, true), "build", "-w", ws.toString());
    assertEquals(1, code, text.toString());
    assertTrue(text.toString().contains("failed   text"), text.toString());
    assertTrue(text.toString().contains("skipped"), text.toString());
  }
}
