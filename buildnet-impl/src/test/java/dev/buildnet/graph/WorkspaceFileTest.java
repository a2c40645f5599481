package dev.buildnet.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkspaceFileTest {
  @TempDir Path workspace;

  private BuildGraph load(String json) throws IOException {
    Files.writeString(workspace.resolve("buildnet.json"), json);
    return WorkspaceFile.load(workspace);
  }

  private InvalidGraphException loadFails(String json) {
    return assertInvalid(() -> load(json));
  }

  private static void assertContains(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), () -> "expected '" + part + "' in: " + message);
    }
  }

  @Test
  void load_mapsEveryField() throws IOException {
    BuildGraph g = load("""
        {"version": 1, "targets": {
          "lib": {"command": ["javac", "A.java"], "cwd": "lib", "env": {"LANG": "C"},
                  "envPassthrough": ["PATH"], "inputs": ["lib/**/*.java", "!lib/gen"],
                  "outputs": ["out/lib"], "requires": ["jdk17"], "cpu": 2, "memoryMb": 512,
                  "timeoutSeconds": 60, "retries": 1, "priority": 5, "cacheable": false},
          "web": {"bundler": {"adapter": "esbuild", "entrypoints": ["src/main.ts"],
                              "outDir": "web/dist", "options": {"minify": "true"}},
                  "cwd": "web", "deps": ["lib"], "env": null}
        }}
        """);
    Target lib = g.get("lib");
    assertEquals(List.of("javac", "A.java"), lib.command());
    assertEquals("lib", lib.workingDirectory());
    assertEquals(Map.of("LANG", "C"), lib.environment());
    assertEquals(List.of("PATH"), List.copyOf(lib.envPassthrough()));
    assertEquals(List.of("lib/**/*.java", "!lib/gen"), lib.inputs());
    assertEquals(List.of("out/lib"), lib.outputs());
    assertEquals(List.of("jdk17"), List.copyOf(lib.requiredCapabilities()));
    assertEquals(2, lib.cpuSlots());
    assertEquals(512, lib.memoryMb());
    assertEquals(Optional.of(Duration.ofSeconds(60)), lib.timeout());
    assertEquals(1, lib.retries());
    assertEquals(5, lib.priority());
    assertEquals(false, lib.cacheable());
    Target web = g.get("web");
    Target.Bundler bundler = web.bundler().orElseThrow();
    assertEquals("esbuild", bundler.adapter());
    assertEquals(List.of("src/main.ts"), bundler.entrypoints());
    assertEquals(Map.of("minify", "true"), bundler.options());
    assertEquals(List.of("web/dist"), web.outputs());
    assertEquals(List.of("lib"), web.dependencies());
    assertEquals(List.of("lib", "web"),
        g.topologicalOrder().stream().map(Target::name).toList());
  }

  @Test
  void documentedExample_loads() throws IOException {
    String doc = Files.readString(Path.of("..", "docs", "WORKSPACE.md"));
    int start = doc.indexOf("```json\n") + "```json\n".length();
    String json = doc.substring(start, doc.indexOf("```", start));
    BuildGraph g = load(json);
    assertEquals(List.of("lib", "web", "publish"), List.copyOf(g.names()));
  }

  @Test
  void missingFile_namesThePath() {
    InvalidGraphException e =
        assertInvalid(() -> WorkspaceFile.load(workspace));
    assertContains(e.getMessage(), workspace.resolve("buildnet.json").toAbsolutePath().toString(),
        "does not exist");
  }

  @Test
  void anEmptyFile_isPlacedAtLine1Column1_asEveryOtherColumnCountsFrom1() {
    InvalidGraphException e = loadFails("");
    assertContains(e.getMessage(), "buildnet.json:1:1: ");
  }

  @Test
  void unknownField_isRejectedWithPathAndLocation() {
    InvalidGraphException e = loadFails("""
        {"version": 1, "targets": {
          "app": {"comand": ["x"]}
        }}
        """);
    assertEquals(2, e.line());
    assertContains(e.getMessage(), "buildnet.json:2:", "unknown field 'comand'",
        "targets.app.comand", "known fields: bundler, cacheable, command");
  }

  @Test
  void unknownField_inOddlyNamedTarget_quotesThePath() {
    InvalidGraphException e = loadFails("""
        {"version": 1, "targets": {"app:web": {"bundler": {"adapter": "esbuild", "x": 1}}}}
        """);
    assertContains(e.getMessage(), "targets[\"app:web\"].bundler.x");
  }

  @Test
  void unknownTopLevelField_isRejected() {
    assertContains(loadFails("{\"version\": 1, \"targets\": {}, \"extra\": true}").getMessage(),
        "unknown field 'extra'");
  }

  @Test
  void malformedJson_reportsLineAndColumn() {
    InvalidGraphException e = loadFails("{\"version\": 1,\n  \"targets\": {\n    \"a\": {,}\n}}");
    assertEquals(3, e.line());
    assertTrue(e.column() > 0);
    assertContains(e.getMessage(), "buildnet.json:3:", "malformed JSON");
  }

  @Test
  void wrongTypes_areNotCoerced() {
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cpu": "2"}}}
        """).getMessage(), "invalid value at targets.a.cpu: expected a whole number");
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cpu": 1.5}}}
        """).getMessage(), "targets.a.cpu");
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cwd": 5}}}
        """).getMessage(), "targets.a.cwd");
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": "make all"}}}
        """).getMessage(), "targets.a.command: expected an array");
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cpu": 99999999999}}}
        """).getMessage(), "invalid value at targets.a.cpu: Numeric value (99999999999) out of range");
    assertContains(loadFails("[1]").getMessage(),
        "buildnet.json:1:1: invalid value at the top level: expected an object with");
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cacheable": "yes"}}}
        """).getMessage(), "targets.a.cacheable");
  }

  @Test
  void aBadCwd_isNamedAsTheFileSpellsIt() {
    String m = loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cwd": "../up"}}}
        """).getMessage();
    assertContains(m, "cwd");
    assertFalse(m.contains("workingDirectory"), m);
    m = loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"], "cwd": ".buildnet/x"}}}
        """).getMessage();
    assertContains(m, "cwd '.buildnet/x' is inside BuildNet's state directory");
  }

  @Test
  void duplicateKeys_andTrailingContent_areRejected() {
    assertContains(loadFails("""
        {"version": 1, "targets": {"a": {"command": ["x"]}, "a": {"command": ["y"]}}}
        """).getMessage(), "Duplicate field 'a'");
    loadFails("{\"version\": 1, \"targets\": {}} {}");
  }

  @Test
  void version_isRequiredAndChecked() {
    assertContains(loadFails("{\"targets\": {}}").getMessage(), "missing required field 'version'");
    assertContains(loadFails("{\"version\": 2, \"targets\": {}}").getMessage(),
        "unsupported version 2");
    assertContains(loadFails("{\"version\": 1}").getMessage(), "missing required field 'targets'");
  }

  @Test
  void invalidTargets_andGraphProblems_areReportedTogether() {
    InvalidGraphException e = assertInvalid(() -> load("""
        {"version": 1, "targets": {
          "a": {"command": ["x"], "inputs": ["/etc/passwd"]},
          "b": {"command": ["x"], "deps": ["a", "c"]},
          "c": {"command": ["x"], "bundler": {"adapter": "esbuild", "entrypoints": ["m.ts"],
                                               "outDir": "dist"}},
          "d": {"command": ["x"], "timeoutSeconds": 0},
          "e": {},
          "f": {"command": ["x"], "deps": ["g"]},
          "g": {"command": ["x"], "deps": ["f"]}
        }}
        """));
    assertTrue(e.source().endsWith("buildnet.json"));
    assertEquals(5, e.problems().size(), e.getMessage());
    assertContains(e.problems().get(0), "target 'a'", "'/etc/passwd'", "absolute");
    assertContains(e.problems().get(1), "target 'c'", "both a command and a bundler");
    assertContains(e.problems().get(2), "target 'd'", "timeoutSeconds must be positive");
    assertContains(e.problems().get(3), "target 'e'", "needs a command or a bundler");
    // 'b' depends on 'a' and 'c', which are declared but invalid: not reported as missing.
    assertEquals("dependency cycle: f -> g -> f", e.problems().get(4));
  }

  @Test
  void parse_readsTextWithASourceName() {
    InvalidGraphException e = assertInvalid(
        () -> WorkspaceFile.parse("{\"version\": 1, \"targets\": {\"a\": {\"x\": 1}}}", "inline"));
    assertTrue(e.getMessage().startsWith("inline:1:"), e.getMessage());
    assertEquals(null, e.file());
  }

  private static InvalidGraphException assertInvalid(
      org.junit.jupiter.api.function.Executable call) {
    InvalidGraphException e = assertThrows(InvalidGraphException.class, call);
    assertEquals(InvalidGraphException.Reason.INVALID, e.reason(), e.getMessage());
    return e;
  }
}
