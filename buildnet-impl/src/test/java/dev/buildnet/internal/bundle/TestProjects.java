package dev.buildnet.internal.bundle;

import static org.junit.jupiter.api.Assertions.fail;

import dev.buildnet.api.build.BuildContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The tiny TypeScript project under test resources, and the bundlers npm installed for it. */
public final class TestProjects {
  static final String INSTALL_COMMAND = "npm ci --prefix buildnet-impl/src/test/node";

  private TestProjects() {}

  /**
   * {@code node_modules} installed from {@code src/test/node/package-lock.json}. Fails (never
   * skips) when it is missing: these tests exist to run the real tools.
   */
  public static Path nodeModules(String tool) {
    // Surefire runs in the module directory; an IDE may run in the repository root.
    for (Path candidate :
        List.of(Path.of("src/test/node/node_modules"), Path.of("buildnet-impl/src/test/node/node_modules"))) {
      if (Files.isExecutable(candidate.resolve(".bin").resolve(tool))) {
        return candidate.toAbsolutePath().normalize();
      }
    }
    return fail(
        tool
            + " is not installed for the tests: run `"
            + INSTALL_COMMAND
            + "` in the repository root first (looked in src/test/node/node_modules/.bin from "
            + Path.of("").toAbsolutePath()
            + ")");
  }

  /** The fixture project as shipped in test resources (read-only use). */
  static Path fixture() {
    try {
      return Path.of(TestProjects.class.getResource("project").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A copy of the fixture in {@code dir}, with {@code node_modules} linked to the installed tools. */
  public static Path workspace(Path dir, String tool) throws IOException {
    Path workspace = dir.resolve("ws");
    Path source = fixture();
    try (Stream<Path> files = Files.walk(source)) {
      files.forEach(
          from -> {
            Path to = workspace.resolve(source.relativize(from).toString());
            try {
              if (Files.isDirectory(from)) {
                Files.createDirectories(to);
              } else {
                Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
              }
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
    Files.createSymbolicLink(workspace.resolve("node_modules"), nodeModules(tool));
    return workspace;
  }

  public static BuildContext context(Path workspace, List<String> entrypoints, Map<String, String> options) {
    return new BuildContext(
        "build-1",
        "app",
        workspace,
        workspace,
        entrypoints,
        workspace.resolve("dist"),
        // Bundlers need nothing from the environment; PATH helps if npm left a node shim.
        Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")),
        options,
        null);
  }

  static String fixtureText(String name) throws IOException {
    try {
      return Files.readString(Path.of(TestProjects.class.getResource(name).toURI()));
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
