package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.internal.graph.InputResolver;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheKeyBuilderTest {
  private static final HashProvider SHA256 = new Sha256TestHashProvider();
  private static final Platform LINUX = new Platform("linux", "x86_64");
  private static final Digest LIB_KEY = Digest.of("sha256", "aa".repeat(32));

  @TempDir Path workspace;
  @TempDir Path elsewhere;

  @BeforeEach
  void files() throws IOException {
    Files.createDirectories(workspace.resolve("src"));
    Files.writeString(workspace.resolve("src/A.java"), "class A {}");
    Files.writeString(workspace.resolve("src/B.java"), "class B {}");
  }

  private static CacheKeyBuilder keys(Path root, Map<String, String> host, Platform platform) {
    return CacheKeyBuilder.builder(root, SHA256, SHA256::hash)
        .hostEnvironment(host)
        .platform(platform)
        .bundlerVersions(name -> "1.0")
        .build();
  }

  private static Target.Builder javac(String... argv) {
    return Target.builder("app").command(argv.length == 0 ? new String[] {"javac", "-O1"} : argv)
        .inputs("src").dependsOn("lib");
  }

  private KeyManifest manifest(Path root, Target target) {
    return manifest(root, target, Map.of(), LINUX);
  }

  private KeyManifest manifest(Path root, Target target, Map<String, String> host, Platform p) {
    List<String> inputs = new InputResolver(root).resolve(target);
    return keys(root, host, p).manifest(target, inputs, Map.of("lib", LIB_KEY));
  }

  @Test
  void argvSplit_doesNotCollide() {
    Target ab = javac("ab", "c").build();
    Target abc = javac("a", "bc").build();
    assertNotEquals(manifest(workspace, ab).key(), manifest(workspace, abc).key());
  }

  @Test
  void envNameValueSplit_doesNotCollide() {
    Target one = javac().env("A", "bc").build();
    Target two = javac().env("Ab", "c").build();
    assertNotEquals(manifest(workspace, one).key(), manifest(workspace, two).key());
  }

  @Test
  void key_usesTheAlgorithmOfTheHashProvider() {
    assertEquals("sha256", manifest(workspace, javac().build()).key().algorithm());
  }

  @Test
  void key_ignoresWorkspaceLocationAndMtimes() throws IOException {
    Files.createDirectories(elsewhere.resolve("src"));
    for (String file : List.of("src/A.java", "src/B.java")) {
      Files.copy(workspace.resolve(file), elsewhere.resolve(file));
      Files.setLastModifiedTime(elsewhere.resolve(file), FileTime.fromMillis(86_400_000L));
    }
    Target target = javac().build();
    KeyManifest here = manifest(workspace, target);
    KeyManifest there = manifest(elsewhere, target);
    assertEquals(here.key(), there.key());
    assertEquals(List.of(), there.diff(here));
  }

  @Test
  void passthroughValue_isPartOfTheKey_andUnsetIsTheSameAsUndeclared() {
    Target passing = javac().envPassthrough("JAVA_HOME").build();
    KeyManifest jdk17 = manifest(workspace, passing, Map.of("JAVA_HOME", "/jdk17"), LINUX);
    KeyManifest jdk21 = manifest(workspace, passing, Map.of("JAVA_HOME", "/jdk21"), LINUX);
    assertEquals(List.of("env JAVA_HOME changed"), jdk21.diff(jdk17));
    assertEquals(manifest(workspace, javac().build()).key(),
        manifest(workspace, passing, Map.of(), LINUX).key());
  }

  @Test
  void diff_namesEachKindOfChange() throws IOException {
    Target before = Target.builder("app").command("cc", "-O1", "x.c").env("FOO", "1")
        .inputs("src").dependsOn("lib").build();
    KeyManifest old = manifest(workspace, before);

    Target after = Target.builder("app").command("cc", "-O2", "x.c", "-g").env("FOO", "2")
        .workingDirectory("src").inputs("src").dependsOn("lib").build();
    Files.writeString(workspace.resolve("src/A.java"), "class A { int x; }");
    Files.delete(workspace.resolve("src/B.java"));
    Files.writeString(workspace.resolve("src/C.java"), "class C {}");
    Digest otherLib = Digest.of("sha256", "bb".repeat(32));
    List<String> inputs = new InputResolver(workspace).resolve(after);
    KeyManifest now = keys(workspace, Map.of(), new Platform("macos", "aarch64"))
        .manifest(after, inputs, Map.of("lib", otherLib));

    List<String> diff = now.diff(old);
    assertEquals(List.of(
        "argv[1] changed: '-O1' -> '-O2'",
        "argv[3] added: '-g'",
        "cwd changed: '.' -> 'src'",
        "env FOO changed",
        "input src/A.java changed: " + old.inputs().get("src/A.java") + " -> "
            + now.inputs().get("src/A.java"),
        "input src/B.java removed",
        "input src/C.java added",
        "dependency lib key changed: " + LIB_KEY + " -> " + otherLib,
        "platform changed: linux/x86_64 -> macos/aarch64"), diff);
  }

  @Test
  void diff_ofBundlerTargets_namesOptionsAndVersion() {
    Target esbuild = Target.builder("web")
        .bundler("esbuild", Map.of("minify", "true"), List.of("main.ts"), "dist").build();
    Target esbuildDev = Target.builder("web")
        .bundler("esbuild", Map.of("minify", "false", "sourcemap", "true"), List.of("main.ts"),
            "dist").build();
    KeyManifest v1 = keys(workspace, Map.of(), LINUX).manifest(esbuild, List.of(), Map.of());
    KeyManifest v2 = CacheKeyBuilder.builder(workspace, SHA256, SHA256::hash)
        .hostEnvironment(Map.of()).platform(LINUX).bundlerVersions(n -> "2.0").build()
        .manifest(esbuildDev, List.of(), Map.of());
    assertEquals(List.of(
        "bundler version changed: '1.0' -> '2.0'",
        "bundler option minify changed: 'true' -> 'false'",
        "bundler option sourcemap added: 'true'"), v2.diff(v1));
  }

  @Test
  void declaredOutputs_arePartOfTheKey() {
    KeyManifest a = manifest(workspace, javac().outputs("out/a").build());
    KeyManifest b = manifest(workspace, javac().outputs("out/b").build());
    assertEquals(List.of("outputs changed: [out/a] -> [out/b]"), b.diff(a));
  }

  @Test
  void targetNameAndSchedulingSettings_areNotPartOfTheKey() {
    Target plain = javac().build();
    Target renamed = Target.builder("other").command("javac", "-O1").inputs("src")
        .dependsOn("lib").priority(9).retries(3).cpuSlots(4).requires("big").build();
    assertEquals(manifest(workspace, plain).key(), manifest(workspace, renamed).key());
  }

  @Test
  void manifest_roundTripsThroughJson() {
    Target web = Target.builder("web").workingDirectory("web").env("NODE_ENV", "production")
        .bundler("esbuild", Map.of("minify", "true"), List.of("main.ts"), "web/dist")
        .inputs("src").dependsOn("lib").build();
    KeyManifest m = manifest(workspace, web);
    String json = m.toJson();
    KeyManifest back = KeyManifest.fromJson(json);
    assertEquals(m, back);
    assertEquals(List.of(), back.diff(m));
    assertTrue(!json.contains("production"), "environment values are stored as digests: " + json);
  }

  @Test
  void fromJson_rejectsCorruptManifests() {
    assertThrows(BuildNetException.class, () -> KeyManifest.fromJson("{"));
    assertThrows(BuildNetException.class, () -> KeyManifest.fromJson("{\"v\": 1}"));
    String json = manifest(workspace, javac().build()).toJson();
    assertThrows(BuildNetException.class,
        () -> KeyManifest.fromJson(json.replace("\"v\":" + KeyManifest.FORMAT_VERSION, "\"v\":99")));
  }

  @Test
  void dependencyKeys_mustMatchTheDependencies() {
    CacheKeyBuilder keys = keys(workspace, Map.of(), LINUX);
    Target target = javac().build();
    List<String> inputs = List.of("src/A.java");
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> keys.manifest(target, inputs, Map.of()));
    assertTrue(missing.getMessage().contains("no key given for dependency 'lib'"));
    assertThrows(IllegalArgumentException.class,
        () -> keys.manifest(target, inputs, Map.of("lib", LIB_KEY, "extra", LIB_KEY)));
  }

  @Test
  void bundlerTarget_withoutVersions_isRefused() {
    CacheKeyBuilder keys = CacheKeyBuilder.builder(workspace, SHA256, SHA256::hash).build();
    Target web = Target.builder("web").bundler("esbuild", Map.of(), List.of("m.ts"), "d").build();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> keys.manifest(web, List.of(), Map.of()));
    assertTrue(e.getMessage().contains("bundlerVersions"), e.getMessage());
  }

  @Test
  void unreadableInput_namesTargetAndFile() {
    BuildNetException e = assertThrows(BuildNetException.class,
        () -> keys(workspace, Map.of(), LINUX)
            .manifest(javac().build(), List.of("src/Gone.java"), Map.of("lib", LIB_KEY)));
    assertTrue(e.getMessage().startsWith("target 'app': cannot digest input 'src/Gone.java'"),
        e.getMessage());
  }

  @Test
  void platform_isNormalized() {
    assertEquals(new Platform("macos", "aarch64"), Platform.normalized("Mac OS X", "aarch64"));
    assertEquals(new Platform("linux", "x86_64"), Platform.normalized("Linux", "amd64"));
    assertEquals(new Platform("windows", "x86_64"), Platform.normalized("Windows 11", "x86_64"));
    assertEquals(new Platform("macos", "aarch64"), Platform.normalized("Darwin", "arm64"));
  }

  private static ActionManifest produced(List<ActionManifest.Output> files, List<String> dirs,
      long duration) {
    return new ActionManifest(ActionManifest.VERSION, "lib", files, dirs, "sha256:" + "cc".repeat(32),
        null, 0, duration, duration * 2);
  }

  private static ActionManifest.Output file(String path, String digestByte, boolean executable) {
    return new ActionManifest.Output(path, "sha256:" + digestByte.repeat(32), 10, executable);
  }

  @Test
  void outputDigest_coversPathsContentAndModes_notOrderSizesLogsOrTimes() {
    ActionManifest m = produced(List.of(file("out/a", "01", false), file("out/b", "02", true)),
        List.of("out"), 5);
    Digest d = KeyManifest.outputDigest(SHA256, m);
    ActionManifest reordered = new ActionManifest(ActionManifest.VERSION, "other",
        List.of(new ActionManifest.Output("out/b", "sha256:" + "02".repeat(32), 99, true),
            file("out/a", "01", false)), List.of("out"), null, "sha256:" + "dd".repeat(32), 0, 1, 2);
    assertEquals(d, KeyManifest.outputDigest(SHA256, reordered));

    for (ActionManifest other : List.of(
        produced(List.of(file("out/a", "01", false), file("out/b", "03", true)), List.of("out"), 5),
        produced(List.of(file("out/a", "01", false), file("out/c", "02", true)), List.of("out"), 5),
        produced(List.of(file("out/a", "01", false), file("out/b", "02", false)), List.of("out"), 5),
        produced(List.of(file("out/a", "01", false), file("out/b", "02", true)),
            List.of("out", "empty"), 5),
        produced(List.of(file("out/a", "01", false)), List.of("out"), 5))) {
      assertNotEquals(d, KeyManifest.outputDigest(SHA256, other), other.toString());
    }
  }

  @Test
  void aDependencyWithOutputs_isKeyedByTheirDigest_andOneWithoutByItsKey() {
    CacheKeyBuilder keys = keys(workspace, Map.of(), LINUX);
    Target app = javac().build();
    List<String> inputs = new InputResolver(workspace).resolve(app);
    Digest outputs = Digest.of("sha256", "0f".repeat(32));
    Digest otherKey = Digest.of("sha256", "bb".repeat(32));
    KeyManifest before = keys.manifestOf(app, inputs,
        Map.of("lib", new KeyManifest.Dependency(LIB_KEY, outputs)));
    KeyManifest reran = keys.manifestOf(app, inputs,
        Map.of("lib", new KeyManifest.Dependency(otherKey, outputs)));
    assertEquals(before.key(), reran.key(), "same outputs, another key: the same key (cutoff)");
    assertEquals(List.of(), reran.diff(before));
    assertEquals(Map.of("lib", otherKey), reran.dependencyKeys());
    assertEquals(reran, KeyManifest.fromJson(reran.toJson()));

    Digest changed = Digest.of("sha256", "1f".repeat(32));
    KeyManifest other = keys.manifestOf(app, inputs,
        Map.of("lib", new KeyManifest.Dependency(otherKey, changed)));
    assertEquals(List.of("dependency lib's outputs changed: " + outputs + " -> " + changed),
        other.diff(before));

    KeyManifest byKey = keys.manifestOf(app, inputs,
        Map.of("lib", KeyManifest.Dependency.byKey(LIB_KEY)));
    assertEquals(manifest(workspace, app).key(), byKey.key());
    assertTrue(byKey.keyedByKey("lib"));
    assertEquals(List.of("dependency lib no longer declares outputs, so its key is used"),
        byKey.diff(before));
    assertEquals(List.of("dependency lib now declares outputs, so their digest is used"),
        before.diff(byKey));
  }
}
