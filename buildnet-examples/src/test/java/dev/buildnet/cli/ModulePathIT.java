package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The modules resolve as a JPMS application, not only on the class path: the command line runs
 * from a module path of the built jars ({@code java --module-path ... -m dev.buildnet.examples/...})
 * and builds a workspace twice, the second time from its cache. This exercises what a module
 * descriptor can break: the requires (automatic and optional ones included), the service lookup
 * of the default providers, and Jackson's reflective access to the workspace file and records.
 */
class ModulePathIT {

  @TempDir Path ws;

  @Test
  void theCommandLine_runsFromTheModulePath_buildsAndThenHitsTheCache() throws Exception {
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), "hello\n");
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {"copy": {
          "command": ["cp", "src/a.txt", "out/a.txt"],
          "inputs": ["src/a.txt"], "outputs": ["out/a.txt"]}}}
        """);

    String first = run("build", "copy");
    assertTrue(first.contains("built 1, cached 0, failed 0"), first);
    assertEquals("hello\n", Files.readString(ws.resolve("out/a.txt")));

    String second = run("build", "copy");
    assertTrue(second.contains("built 0, cached 1, failed 0"), second);
  }

  private String run(String... args) throws Exception {
    String modulePath = System.getProperty("buildnet.modulepath");
    assertTrue(modulePath != null && !modulePath.isBlank(), "the pom passes buildnet.modulepath");
    for (String entry : modulePath.split(File.pathSeparator)) {
      assertTrue(Files.exists(Path.of(entry)), "module path entry " + entry + " exists");
    }
    Path java = Path.of(System.getProperty("java.home.for.tests", System.getProperty("java.home")),
        "bin", "java");
    List<String> command = new ArrayList<>(List.of(java.toString(), "--module-path", modulePath,
        "-m", "dev.buildnet.examples/dev.buildnet.cli.BuildNetCli"));
    command.addAll(List.of(args));
    Path log = Files.createTempFile("modulepath", ".log");
    try {
      Process p = new ProcessBuilder(command).directory(ws.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "buildnet " + String.join(" ", args)
          + " did not exit");
      String out = Files.readString(log, StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), out);
      return out;
    } finally {
      Files.deleteIfExists(log);
    }
  }
}
