package dev.buildnet.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TargetTest {

  private static Target.Builder app() {
    return Target.builder("app").command("javac", "A.java");
  }

  private static void assertMessageContains(Throwable e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part),
          () -> "expected '" + part + "' in: " + e.getMessage());
    }
  }

  @Test
  void defaults_areDocumentedValues() {
    Target t = app().build();
    assertEquals(".", t.workingDirectory());
    assertEquals(1, t.cpuSlots());
    assertEquals(0, t.memoryMb());
    assertEquals(0, t.retries());
    assertFalse(t.retryable());
    assertEquals(0, t.priority());
    assertTrue(t.cacheable());
    assertEquals(Optional.empty(), t.timeout());
    assertEquals(Optional.empty(), t.bundler());
    assertEquals(List.of("javac", "A.java"), t.command());
  }

  @Test
  void allSettings_areKept() {
    Target t = Target.builder("lib:compile")
        .command(List.of("make", "all"))
        .workingDirectory("lib/./src/..")
        .env("LANG", "C")
        .envPassthrough("PATH", "JAVA_HOME")
        .inputs("lib/src/**/*.java", "!lib/src/gen")
        .outputs("out/lib")
        .dependsOn("base")
        .requires("jdk17", "docker")
        .cpuSlots(2)
        .memoryMb(512)
        .timeout(Duration.ofSeconds(30))
        .retries(2)
        .priority(-3)
        .cacheable(false)
        .build();
    assertEquals("lib", t.workingDirectory());
    assertEquals(Map.of("LANG", "C"), t.environment());
    assertEquals(List.of("JAVA_HOME", "PATH"), List.copyOf(t.envPassthrough()));
    assertEquals(List.of("lib/src/**/*.java", "!lib/src/gen"), t.inputs());
    assertEquals(List.of("out/lib"), t.outputs());
    assertEquals(List.of("base"), t.dependencies());
    assertEquals(List.of("docker", "jdk17"), List.copyOf(t.requiredCapabilities()));
    assertEquals(2, t.cpuSlots());
    assertEquals(512, t.memoryMb());
    assertEquals(Optional.of(Duration.ofSeconds(30)), t.timeout());
    assertTrue(t.retryable());
    assertEquals(-3, t.priority());
    assertFalse(t.cacheable());
  }

  @Test
  void builder_rejectsInvalidNames() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> Target.builder("has space")),
        "'has space'");
    assertThrows(IllegalArgumentException.class, () -> Target.builder(""));
    assertThrows(IllegalArgumentException.class, () -> Target.builder(null));
    Target.builder("a-b_c.d:e/f").command("x").build();
  }

  @Test
  void commandAndBundler_areMutuallyExclusive() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> app().bundler("esbuild", Map.of(), List.of("main.ts"), "dist"));
    assertMessageContains(e, "target 'app'", "both a command and a bundler");
    assertMessageContains(
        assertThrows(IllegalStateException.class, () -> Target.builder("x").build()),
        "target 'x'", "needs a command or a bundler");
  }

  @Test
  void singleValuedSettings_canBeSetOnlyOnce() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> app().command("other"));
    assertMessageContains(e, "target 'app'", "command was already set to [javac, A.java]");
    assertMessageContains(
        assertThrows(IllegalStateException.class, () -> app().cpuSlots(2).cpuSlots(3)),
        "cpuSlots was already set to 2");
    assertThrows(IllegalStateException.class, () -> app().workingDirectory("a").workingDirectory("b"));
    assertThrows(IllegalStateException.class, () -> app().priority(1).priority(1));
    assertThrows(IllegalStateException.class, () -> app().cacheable(true).cacheable(false));
  }

  @Test
  void command_rejectsEmptyAndNulls() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> Target.builder("a").command()),
        "target 'a'", "command must not be empty");
    assertMessageContains(assertThrows(IllegalArgumentException.class,
        () -> Target.builder("a").command("x", null)), "command[1] is null");
    assertThrows(IllegalArgumentException.class, () -> Target.builder("a").command(""));
  }

  @Test
  void absolutePaths_areRejectedNamingTargetAndPath() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> app().inputs("/etc/passwd"));
    assertMessageContains(e, "target 'app'", "'/etc/passwd'", "absolute");
    assertThrows(IllegalArgumentException.class, () -> app().outputs("C:/out"));
    assertThrows(IllegalArgumentException.class, () -> app().workingDirectory("/tmp"));
  }

  @Test
  void traversalOutOfTheWorkspace_isRejected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> app().inputs("src/../../secret"));
    assertMessageContains(e, "target 'app'", "'src/../../secret'", "escapes the workspace");
    assertThrows(IllegalArgumentException.class, () -> app().outputs("../out"));
    assertThrows(IllegalArgumentException.class, () -> app().inputs("!../x"));
    assertThrows(IllegalArgumentException.class, () -> app().workingDirectory(".."));
    assertThrows(IllegalArgumentException.class, () -> app().inputs("src/*/../x"));
  }

  @Test
  void dotDotInsideTheWorkspace_isNormalized() {
    Target t = app().inputs("src/../lib//A.java", "./b/").outputs("out/x/..").build();
    assertEquals(List.of("lib/A.java", "b"), t.inputs());
    assertEquals(List.of("out"), t.outputs());
  }

  @Test
  void backslashes_areRejected() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().inputs("src\\A.java")),
        "'/' as the separator");
  }

  @Test
  void stateDirectory_isNeitherInputNorOutput() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().outputs(".buildnet/x")),
        "target 'app'", ".buildnet");
    assertThrows(IllegalArgumentException.class, () -> app().outputs("."));
    assertThrows(IllegalArgumentException.class, () -> app().inputs(".buildnet/cache/**"));
    app().inputs(".buildnetish/x", "**/*.java").outputs(".buildnet2").build();
  }

  @Test
  void outputs_mustNotRepeatOrNest() {
    assertThrows(IllegalStateException.class, () -> app().outputs("dist", "dist/"));
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().outputs("dist", "dist/a.js")),
        "'dist'", "'dist/a.js'", "overlap");
  }

  @Test
  void outputs_mustBePlainPaths() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().outputs("dist/*.js")),
        "not a glob");
  }

  @Test
  void resources_areRangeChecked() {
    assertMessageContains(assertThrows(IllegalArgumentException.class, () -> app().cpuSlots(0)),
        "target 'app'", "CPU slots (\"cpu\" in buildnet.json) must be at least 1 but was 0");
    assertThrows(IllegalArgumentException.class, () -> app().memoryMb(-1));
    assertThrows(IllegalArgumentException.class, () -> app().retries(-1));
    assertThrows(IllegalArgumentException.class, () -> app().timeout(Duration.ZERO));
  }

  @Test
  void env_andPassthrough_mustNotOverlapOrRepeat() {
    assertThrows(IllegalStateException.class, () -> app().env("A", "1").envPassthrough("A"));
    assertThrows(IllegalStateException.class, () -> app().envPassthrough("A").env("A", "1"));
    assertThrows(IllegalStateException.class, () -> app().env("A", "1").env("A", "2"));
    assertThrows(IllegalStateException.class, () -> app().envPassthrough("A", "A"));
    assertThrows(IllegalArgumentException.class, () -> app().env("A=B", "1"));
  }

  @Test
  void resolveEnvironment_addsPassthroughValuesThatAreSet() {
    Target t = app().env("LANG", "C").envPassthrough("PATH", "UNSET_HERE").build();
    assertEquals(Map.of("LANG", "C", "PATH", "/bin"),
        t.resolveEnvironment(Map.of("PATH", "/bin", "HOME", "/root")));
  }

  @Test
  void dependsOn_rejectsSelfRepeatsAndBadNames() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().dependsOn("app")), "itself");
    assertThrows(IllegalStateException.class, () -> app().dependsOn("a", "a"));
    assertThrows(IllegalArgumentException.class, () -> app().dependsOn("not valid"));
  }

  @Test
  void bundler_outDirIsAnOutput_andEntrypointsStayInside() {
    Target t = Target.builder("web").workingDirectory("web")
        .bundler("esbuild", Map.of("minify", "true"), List.of("src/main.ts", "../shared/x.ts"),
            "web/dist")
        .outputs("web/meta.json")
        .build();
    assertEquals(List.of("web/meta.json", "web/dist"), t.outputs());
    assertEquals("esbuild", t.bundler().orElseThrow().adapter());
    assertEquals(List.of(), t.command());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Target.builder("web").workingDirectory("web")
            .bundler("esbuild", Map.of(), List.of("../../etc/x.ts"), "dist").build());
    assertMessageContains(e, "target 'web'", "entrypoint", "escapes the workspace");
    assertThrows(IllegalArgumentException.class,
        () -> Target.builder("web").bundler("esbuild", Map.of(), List.of(), "dist"));
    assertThrows(IllegalArgumentException.class,
        () -> Target.builder("web").bundler("esbuild", Map.of(), List.of("a.ts"), "dist")
            .outputs("dist/a.js").build());
  }

  @Test
  void inputs_withOnlyExclusions_areRejected() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().inputs("!src/gen").build()),
        "only exclusions");
  }

  @Test
  void plainInput_insideItsOwnOutput_isRejected() {
    assertMessageContains(assertThrows(IllegalArgumentException.class,
        () -> app().inputs("out/A.class").outputs("out").build()), "inside its own output");
  }

  @Test
  void unbalancedBraces_areRejected() {
    assertMessageContains(
        assertThrows(IllegalArgumentException.class, () -> app().inputs("src/*.{ts,tsx")),
        "target 'app'", "'{' without a matching '}'");
  }

  @Test
  void equalDeclarations_giveEqualTargets() {
    assertEquals(app().inputs("a").build(), app().inputs("a").build());
    assertFalse(app().inputs("a").build().equals(app().inputs("b").build()));
  }
}
