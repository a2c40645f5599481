package dev.buildnet.examples.embed;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The IDE example with the real esbuild: a save with a syntax error shows a problem, a fix clears it. */
class IdeWatchExampleTest {
  @TempDir Path ws;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  /** The esbuild Maven installs for the bundler tests ({@code npm ci --prefix buildnet-impl/src/test/node}). */
  private static Path nodeModules() {
    for (Path p : List.of(Path.of("../buildnet-impl/src/test/node/node_modules"),
        Path.of("buildnet-impl/src/test/node/node_modules"))) {
      if (Files.isExecutable(p.resolve(".bin/esbuild"))) {
        return p.toAbsolutePath().normalize();
      }
    }
    throw new AssertionError("esbuild is not installed: run `npm ci --prefix buildnet-impl/src/test/node`"
        + " in the repository root first");
  }

  private void save(String rel, String text) throws IOException {
    Path tmp = ws.resolve("editor.tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, ws.resolve(rel), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  private String printed() {
    synchronized (bytes) {
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  private void await(Predicate<String> condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.test(printed())) {
      assertTrue(System.nanoTime() < end, "never printed " + what + ": " + printed());
      Thread.sleep(20); // polling a condition with a bound
    }
  }

  @Test
  void aSaveWithASyntaxErrorShowsItsProblem_andTheFixClearsIt() throws Exception {
    Files.createSymbolicLink(ws.resolve("node_modules"), nodeModules());
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/util.ts"), "export const twice = (n: number) => n * 2;\n");
    Files.writeString(ws.resolve("src/main.ts"),
        "import { twice } from './util';\nconsole.log(twice(21));\n");
    try (IdeWatchExample ide = new IdeWatchExample(ws, new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      await(s -> s.contains("cycle 1: no problems"), "the first cycle");
      assertTrue(Files.readString(ws.resolve("dist/main.js")).contains("21"));

      save("src/util.ts", "export const twice = (n: number) => n * ;\n");
      await(s -> s.contains("cycle 2: 1 problem"), "the problem");
      assertTrue(printed().contains("src/util.ts:1:"), printed());

      save("src/util.ts", "export const twice = (n: number) => n * 3;\n");
      await(s -> s.contains("cycle 3: no problems"), "the fix");
    }
  }
}
