package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Targets that need no shell wrapper: {@code {inputs}} placeholders expanded into real argv
 * elements, outputs' parent directories created, and variables passed through without hashing.
 */
class TargetArgumentsTest {
  private static final byte[] SECRET =
      "a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8);
  private static final long WAIT = 60;
  /** Odd names: spaces, both quotes, a shell metacharacter, unicode, and a leading dash. */
  private static final List<String> ODD = List.of(
      "src/a b.txt", "src/it's \"quoted\".txt", "src/$(rm -rf x);.txt", "src/\u00e9t\u00e9 \ud83d\ude00.txt",
      "src/-n.txt", "src/sub/deep.md");

  @TempDir Path tmp;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private Path workspace() throws Exception {
    Path ws = tmp.resolve("ws");
    for (String f : ODD) {
      Files.createDirectories(ws.resolve(f).getParent());
      Files.writeString(ws.resolve(f), f);
    }
    return ws;
  }

  /**
   * A target whose process writes each argument it received, NUL-terminated, to an output in a
   * directory that does not exist yet. The shell only forwards "$@": no file name is interpolated.
   */
  private static Target echoArgv(String name, String cwd, String out, String... placeholders) {
    List<String> argv = new ArrayList<>(List.of("bash", "-c", "printf '%s\\0' \"$@\" > \"$0\""));
    argv.add(out);
    argv.addAll(Arrays.asList(placeholders));
    return Target.builder(name).command(argv).workingDirectory(cwd).inputs("src")
        .outputs(cwd.equals(".") ? out : cwd + "/" + out).build();
  }

  private static List<String> argvWritten(Path file) throws Exception {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    assertTrue(text.endsWith("\0"), text);
    return List.of(text.substring(0, text.length() - 1).split("\0", -1));
  }

  private BuildNet start(Path ws, List<Target> targets, BuildNet.Builder b) {
    BuildNet net = b.workspace(ws).targets(targets).start();
    open.add(net);
    return net;
  }

  private static TargetOutcome build(BuildNet net, String target) throws Exception {
    BuildResult r = net.build(target).get(WAIT, TimeUnit.SECONDS);
    return r.target(target).orElseThrow();
  }

  @Test
  void inputsPlaceholdersReachTheProcessAsOneArgumentPerFileWhateverTheirNames() throws Exception {
    Path ws = workspace();
    BuildNet net = start(ws, List.of(
        echoArgv("all", ".", "out/deep/all.bin", "{inputs}"),
        echoArgv("txt", "src", "gen/txt.bin", "--", "{inputs:src/*.txt}", "{inputs:nothing/*}")),
        BuildNet.builder().localSlots(2));

    TargetOutcome all = build(net, "all");
    assertEquals(Status.BUILT, all.status(), all.toString());
    // Sorted as the inputs are (UTF-16 order); "-n.txt" is not at the start, so no "./".
    assertEquals(List.of("src/$(rm -rf x);.txt", "src/-n.txt", "src/a b.txt",
            "src/it's \"quoted\".txt", "src/sub/deep.md", "src/\u00e9t\u00e9 \ud83d\ude00.txt"),
        argvWritten(ws.resolve("out/deep/all.bin")));

    TargetOutcome txt = build(net, "txt");
    assertEquals(Status.BUILT, txt.status(), txt.toString());
    // Relative to the cwd "src": a leading dash gets "./" so no program reads it as an option.
    assertEquals(List.of("--", "$(rm -rf x);.txt", "./-n.txt", "a b.txt", "it's \"quoted\".txt",
            "\u00e9t\u00e9 \ud83d\ude00.txt"),
        argvWritten(ws.resolve("src/gen/txt.bin")));
  }

  @Test
  void aWorkerRunsTheArgvExpandedOnTheMasterRelativeToItsSandbox() throws Exception {
    Path ws = workspace();
    BuildNet net = start(ws, List.of(
        Target.builder("remote").command("bash", "-c",
                "printf '%s\\0' \"$@\" > \"$0\" && cat \"$@\" > ../out/cat.txt", "../out/argv.bin",
                "{inputs:src/*.txt}")
            .workingDirectory("src").inputs("src").outputs("out/argv.bin", "out/cat.txt")
            .requires("remote").build()),
        BuildNet.builder().localSlots(0).listen(new InetSocketAddress("127.0.0.1", 0))
            .transport(TransportSettings.ofSecret(SECRET)));
    InetSocketAddress at = net.master().orElseThrow().localAddress();
    Worker w = BuildNet.worker().transport(TransportSettings.ofSecret(SECRET)).workerId("w1").cpuSlots(1).memoryMb(512)
        .capabilities(List.of("remote")).workDir(tmp.resolve("work"))
        .connect(at.getHostString(), at.getPort());
    open.add(w);
    assertTrue(w.awaitConnected(Duration.ofSeconds(WAIT)));

    TargetOutcome o = build(net, "remote");
    assertEquals(Status.BUILT, o.status(), o.toString());
    assertEquals(List.of("$(rm -rf x);.txt", "./-n.txt", "a b.txt", "it's \"quoted\".txt",
        "\u00e9t\u00e9 \ud83d\ude00.txt"), argvWritten(ws.resolve("out/argv.bin")));
    assertEquals("src/$(rm -rf x);.txtsrc/-n.txtsrc/a b.txtsrc/it's \"quoted\".txt"
        + "src/\u00e9t\u00e9 \ud83d\ude00.txt", Files.readString(ws.resolve("out/cat.txt")));
  }

  @Test
  void anOutputsParentDirectoriesExistBeforeTheCommandRuns() throws Exception {
    Path ws = tmp.resolve("plain");
    Files.createDirectories(ws);
    BuildNet net = start(ws, List.of(
        Target.builder("cp").command("cp", "buildnet-input.txt", "out/a/b/copy.txt")
            .inputs("buildnet-input.txt").outputs("out/a/b/copy.txt").build()),
        BuildNet.builder());
    Files.writeString(ws.resolve("buildnet-input.txt"), "copied");
    TargetOutcome o = build(net, "cp");
    assertEquals(Status.BUILT, o.status(), o.toString());
    assertEquals("copied", Files.readString(ws.resolve("out/a/b/copy.txt")));
  }

  private static Target envTarget() {
    return Target.builder("env")
        .command("bash", "-c", "printf '%s|%s' \"$TOOL_HOME\" \"$LOCATION\" > out/env.txt")
        .envPassthrough("TOOL_HOME").envPassthroughUnhashed("LOCATION")
        .outputs("out/env.txt").build();
  }

  @Test
  void anUnhashedVariableReachesTheCommandButChangingItKeepsTheTargetCached() throws Exception {
    Path ws = tmp.resolve("env");
    Files.createDirectories(ws);
    BuildNet first = start(ws, List.of(envTarget()), BuildNet.builder()
        .hostEnvironment(Map.of("TOOL_HOME", "/opt/tool-1", "LOCATION", "/first/bin")));
    assertEquals(Status.BUILT, build(first, "env").status());
    assertEquals("/opt/tool-1|/first/bin", Files.readString(ws.resolve("out/env.txt")));
    first.close();

    BuildNet moved = start(ws, List.of(envTarget()), BuildNet.builder()
        .hostEnvironment(Map.of("TOOL_HOME", "/opt/tool-1", "LOCATION", "/elsewhere/bin")));
    assertEquals(Status.CACHED, build(moved, "env").status());
    moved.close();

    BuildNet changed = start(ws, List.of(envTarget()), BuildNet.builder()
        .hostEnvironment(Map.of("TOOL_HOME", "/opt/tool-2", "LOCATION", "/elsewhere/bin")));
    assertEquals(Status.BUILT, build(changed, "env").status());
    assertEquals("/opt/tool-2|/elsewhere/bin", Files.readString(ws.resolve("out/env.txt")));
    List<String> reasons = changed.explain("env").reasons();
    assertTrue(reasons.stream().anyMatch(r -> r.contains("TOOL_HOME")), reasons.toString());
    assertTrue(reasons.stream().noneMatch(r -> r.contains("LOCATION")), reasons.toString());
  }

  @Test
  void aMalformedPlaceholderOrAVariableListedTwiceIsRejectedWhenDeclared() {
    var bad = assertThrows(IllegalArgumentException.class,
        () -> Target.builder("t").command("cat", "{inputs:src/{a}"));
    assertTrue(bad.getMessage().contains("command[1]"), bad.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Target.builder("t").command("cat", "{inputs:}"));
    assertThrows(IllegalArgumentException.class,
        () -> Target.builder("t").command("cat", "{inputs:../x}"));
    assertThrows(IllegalStateException.class,
        () -> Target.builder("t").envPassthrough("PATH").envPassthroughUnhashed("PATH"));
    assertThrows(IllegalStateException.class,
        () -> Target.builder("t").envPassthroughUnhashed("PATH").env("PATH", "/bin"));
    // Not a placeholder: kept as it is.
    assertEquals(List.of("echo", "{input}", "x{inputs}"),
        Target.builder("t").command("echo", "{input}", "x{inputs}").build().expandCommand(List.of("a")));
  }

  @Test
  void expandedPathsAreRelativeToTheWorkingDirectoryAndTheFileLoadsTheNewFields() throws Exception {
    Target t = Target.builder("t").command("tool", "{inputs}").workingDirectory("a/b").build();
    assertEquals(List.of("tool", "c.txt", "d/e.txt", "../x/-y.txt", "../../z.txt", "../../a"),
        t.expandCommand(List.of("a/b/c.txt", "a/b/d/e.txt", "a/x/-y.txt", "z.txt", "a")));

    Path ws = tmp.resolve("loaded");
    Files.createDirectories(ws);
    Files.writeString(ws.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {\"t\": {"
        + "\"command\": [\"javac\", \"{inputs:src/**/*.java}\"], \"inputs\": [\"src\"],"
        + "\"envPassthrough\": [\"JAVA_HOME\"], \"envPassthroughUnhashed\": [\"PATH\"]}}}");
    Target loaded = dev.buildnet.graph.WorkspaceFile.load(ws).targets().iterator().next();
    assertEquals(java.util.Set.of("PATH"), loaded.envPassthroughUnhashed());
    assertEquals(List.of("javac", "{inputs:src/**/*.java}"), loaded.command());
    assertEquals(Map.of("JAVA_HOME", "/jdk", "PATH", "/bin"),
        loaded.commandEnvironment(Map.of("JAVA_HOME", "/jdk", "PATH", "/bin", "OTHER", "x")));
    assertEquals(Map.of("JAVA_HOME", "/jdk"),
        loaded.resolveEnvironment(Map.of("JAVA_HOME", "/jdk", "PATH", "/bin")));
  }
}
