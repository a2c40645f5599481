package dev.buildnet.internal.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.internal.graph.InputResolver;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * For random targets: changing any one key component changes the key and the manifest diff names
 * exactly that component; moving the workspace and touching file times changes nothing.
 */
class CacheKeyPropertiesTest {
  private static final HashProvider SHA256 = new Sha256TestHashProvider();
  private static final List<String> DIRECTORIES = List.of(".", "a", "b/c");
  private static final List<String> SYSTEMS = List.of("linux", "macos", "windows");

  enum Change {
    ARGV_ELEMENT, ENV_VALUE, PASSTHROUGH_VALUE, CWD, INPUT_CONTENT, INPUT_PATH, DEPENDENCY_KEY,
    BUNDLER_OPTION, BUNDLER_VERSION, PLATFORM
  }

  /** Everything that goes into one target's key, as plain data. Files are relative to src/. */
  record Spec(
      List<String> argv,
      Map<String, String> env,
      String passthrough,
      String cwd,
      Map<String, String> files,
      List<Digest> depKeys,
      Map<String, String> options,
      String bundlerVersion,
      Platform platform) {

    Target target(boolean bundled) {
      Target.Builder b = Target.builder("t");
      if (bundled) {
        b.bundler("esbuild", options, List.of("main.ts"), "dist");
      } else {
        b.command(argv);
      }
      env.forEach(b::env);
      b.envPassthrough("PASS").workingDirectory(cwd).inputs("src");
      for (int i = 0; i < depKeys.size(); i++) {
        b.dependsOn("dep" + i);
      }
      return b.build();
    }

    KeyManifest manifest(Path workspace, boolean bundled) {
      Target target = target(bundled);
      Map<String, Digest> deps = new TreeMap<>();
      for (int i = 0; i < depKeys.size(); i++) {
        deps.put("dep" + i, depKeys.get(i));
      }
      CacheKeyBuilder keys = CacheKeyBuilder.builder(workspace, SHA256, SHA256::hash)
          .hostEnvironment(Map.of("PASS", passthrough, "NOT_LISTED", "x"))
          .bundlerVersions(name -> bundlerVersion)
          .platform(platform)
          .build();
      return keys.manifest(target, new InputResolver(workspace).resolve(target), deps);
    }

    void writeTo(Path workspace) throws IOException {
      delete(workspace.resolve("src"));
      for (Map.Entry<String, String> file : files.entrySet()) {
        Path path = workspace.resolve("src").resolve(file.getKey());
        Files.createDirectories(path.getParent());
        Files.writeString(path, file.getValue());
      }
    }
  }

  @Provide
  Arbitrary<Spec> specs() {
    Arbitrary<String> word = Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(5);
    Arbitrary<String> text = Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(8);
    Arbitrary<List<String>> argv = Combinators.combine(word, text.list().ofMaxSize(3))
        .as((program, args) -> {
          List<String> all = new ArrayList<>();
          all.add(program);
          all.addAll(args);
          return all;
        });
    Arbitrary<Map<String, String>> env =
        Arbitraries.maps(word.map(w -> "E_" + w), text).ofMinSize(1).ofMaxSize(3);
    Arbitrary<String> file = Combinators.combine(word.optional(), word)
        .as((dir, name) -> dir.map(d -> "d_" + d + "/").orElse("") + "f_" + name + ".txt");
    Arbitrary<Map<String, String>> files = Arbitraries.maps(file, text).ofMinSize(1).ofMaxSize(4);
    Arbitrary<List<Digest>> deps = Arbitraries.strings().withChars("0123456789abcdef")
        .ofLength(64).map(hex -> Digest.of("sha256", hex)).list().ofMinSize(1).ofMaxSize(3);
    Arbitrary<Map<String, String>> options =
        Arbitraries.maps(word.map(w -> "o_" + w), text).ofMinSize(1).ofMaxSize(3);
    Arbitrary<Platform> platform = Combinators.combine(
        Arbitraries.of(SYSTEMS), Arbitraries.of("x86_64", "aarch64")).as(Platform::new);
    // combine() takes at most eight arbitraries, so the bundler and platform come as one.
    record Tail(Map<String, String> options, String bundlerVersion, Platform platform) {}
    Arbitrary<Tail> tail = Combinators.combine(options, word, platform).as(Tail::new);
    return Combinators.combine(argv, env, text, Arbitraries.of(DIRECTORIES), files, deps, tail)
        .as((a, e, p, c, f, d, t) ->
            new Spec(a, e, p, c, f, d, t.options(), t.bundlerVersion(), t.platform()));
  }

  /** Every kind of change is tried on every generated target, so none can go untested. */
  @Property(tries = 30)
  void changingOneComponent_changesTheKey_andTheDiffNamesOnlyThatComponent(
      @ForAll("specs") Spec spec, @ForAll @IntRange(max = 99) int pick) throws IOException {
    Path workspace = Files.createTempDirectory("buildnet-key-");
    try {
      spec.writeTo(workspace);
      KeyManifest commandKey = spec.manifest(workspace, false);
      KeyManifest bundlerKey = spec.manifest(workspace, true);
      for (Change change : Change.values()) {
        boolean bundled = change == Change.BUNDLER_OPTION || change == Change.BUNDLER_VERSION;
        KeyManifest before = bundled ? bundlerKey : commandKey;
        Spec changed = change(spec, change, pick);
        changed.writeTo(workspace);
        KeyManifest after = changed.manifest(workspace, bundled);

        assertNotEquals(before.key(), after.key(), change::toString);
        List<String> diff = after.diff(before);
        if (change == Change.INPUT_PATH) {
          String moved = nth(spec.files(), pick);
          assertEquals(Set.of("input src/" + moved + " removed", "input src/moved.txt added"),
              Set.copyOf(diff));
          assertEquals(2, diff.size());
        } else {
          assertEquals(1, diff.size(), () -> change + " gave " + diff);
          String expected = expectedPrefix(spec, change, pick);
          assertTrue(diff.get(0).startsWith(expected),
              () -> change + ": expected '" + expected + "…' but was " + diff);
        }
      }
    } finally {
      delete(workspace);
    }
  }

  @Property(tries = 20)
  void movingTheWorkspace_andTouchingFiles_keepsTheKey(
      @ForAll("specs") Spec spec, @ForAll boolean bundled, @ForAll @IntRange(max = 1_000_000)
          int seconds) throws IOException {
    Path first = Files.createTempDirectory("buildnet-key-a-");
    Path second = Files.createTempDirectory("buildnet-key-b-");
    try {
      spec.writeTo(first);
      KeyManifest original = spec.manifest(first, bundled);
      spec.writeTo(second);
      try (Stream<Path> files = Files.walk(second)) {
        for (Path file : files.filter(Files::isRegularFile).toList()) {
          Files.setLastModifiedTime(file, FileTime.fromMillis(seconds * 1000L));
        }
      }
      KeyManifest moved = spec.manifest(second, bundled);
      assertEquals(original.key(), moved.key());
      assertEquals(List.of(), moved.diff(original));
      assertEquals(original.key(), spec.manifest(first, bundled).key());
    } finally {
      delete(first);
      delete(second);
    }
  }

  private static Spec change(Spec s, Change change, int pick) {
    switch (change) {
      case ARGV_ELEMENT -> {
        List<String> argv = new ArrayList<>(s.argv());
        int i = pick % argv.size();
        argv.set(i, argv.get(i) + "x");
        return new Spec(argv, s.env(), s.passthrough(), s.cwd(), s.files(), s.depKeys(),
            s.options(), s.bundlerVersion(), s.platform());
      }
      case ENV_VALUE -> {
        Map<String, String> env = new LinkedHashMap<>(s.env());
        env.put(nth(env, pick), env.get(nth(env, pick)) + "x");
        return new Spec(s.argv(), env, s.passthrough(), s.cwd(), s.files(), s.depKeys(),
            s.options(), s.bundlerVersion(), s.platform());
      }
      case PASSTHROUGH_VALUE -> {
        return new Spec(s.argv(), s.env(), s.passthrough() + "x", s.cwd(), s.files(),
            s.depKeys(), s.options(), s.bundlerVersion(), s.platform());
      }
      case CWD -> {
        String cwd = DIRECTORIES.get((DIRECTORIES.indexOf(s.cwd()) + 1 + pick % 2) % 3);
        return new Spec(s.argv(), s.env(), s.passthrough(), cwd, s.files(), s.depKeys(),
            s.options(), s.bundlerVersion(), s.platform());
      }
      case INPUT_CONTENT -> {
        Map<String, String> files = new LinkedHashMap<>(s.files());
        String file = nth(files, pick);
        files.put(file, files.get(file) + "x");
        return new Spec(s.argv(), s.env(), s.passthrough(), s.cwd(), files, s.depKeys(),
            s.options(), s.bundlerVersion(), s.platform());
      }
      case INPUT_PATH -> {
        Map<String, String> files = new LinkedHashMap<>(s.files());
        String content = files.remove(nth(s.files(), pick));
        files.put("moved.txt", content);
        return new Spec(s.argv(), s.env(), s.passthrough(), s.cwd(), files, s.depKeys(),
            s.options(), s.bundlerVersion(), s.platform());
      }
      case DEPENDENCY_KEY -> {
        List<Digest> keys = new ArrayList<>(s.depKeys());
        int i = pick % keys.size();
        String hex = keys.get(i).hex();
        keys.set(i, Digest.of("sha256", (hex.charAt(0) == '0' ? "1" : "0") + hex.substring(1)));
        return new Spec(s.argv(), s.env(), s.passthrough(), s.cwd(), s.files(), keys,
            s.options(), s.bundlerVersion(), s.platform());
      }
      case BUNDLER_OPTION -> {
        Map<String, String> options = new LinkedHashMap<>(s.options());
        options.put(nth(options, pick), options.get(nth(options, pick)) + "x");
        return new Spec(s.argv(), s.env(), s.passthrough(), s.cwd(), s.files(), s.depKeys(),
            options, s.bundlerVersion(), s.platform());
      }
      case BUNDLER_VERSION -> {
        return new Spec(s.argv(), s.env(), s.passthrough(), s.cwd(), s.files(), s.depKeys(),
            s.options(), s.bundlerVersion() + "x", s.platform());
      }
      case PLATFORM -> {
        String os = SYSTEMS.get((SYSTEMS.indexOf(s.platform().os()) + 1 + pick % 2) % 3);
        return new Spec(s.argv(), s.env(), s.passthrough(), s.cwd(), s.files(), s.depKeys(),
            s.options(), s.bundlerVersion(), new Platform(os, s.platform().arch()));
      }
      default -> throw new AssertionError(change);
    }
  }

  private static String expectedPrefix(Spec s, Change change, int pick) {
    return switch (change) {
      case ARGV_ELEMENT -> "argv[" + pick % s.argv().size() + "] changed: ";
      case ENV_VALUE -> "env " + nth(s.env(), pick) + " changed";
      case PASSTHROUGH_VALUE -> "env PASS changed";
      case CWD -> "cwd changed: '" + s.cwd() + "' -> ";
      case INPUT_CONTENT -> "input src/" + nth(s.files(), pick) + " changed: sha256:";
      case DEPENDENCY_KEY -> "dependency dep" + pick % s.depKeys().size() + " key changed: ";
      case BUNDLER_OPTION -> "bundler option " + nth(s.options(), pick) + " changed: ";
      case BUNDLER_VERSION -> "bundler version changed: '" + s.bundlerVersion() + "' -> ";
      case PLATFORM -> "platform changed: " + s.platform() + " -> ";
      case INPUT_PATH -> throw new AssertionError("two lines, checked separately");
    };
  }

  private static String nth(Map<String, String> map, int pick) {
    return new ArrayList<>(map.keySet()).get(pick % map.size());
  }

  static void delete(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
