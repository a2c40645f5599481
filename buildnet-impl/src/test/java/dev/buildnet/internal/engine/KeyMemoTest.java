package dev.buildnet.internal.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.cache.KeyManifest;
import dev.buildnet.internal.hash.FileDigestCache;
import dev.buildnet.internal.hash.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KeyService} hands back a target's last key when nothing it covers changed (the same
 * {@link KeyService.Computed} instance), and computes it afresh otherwise. Each case checks the key
 * against a fresh service's, which remembers nothing: a reused key must be the one a full
 * computation gives.
 */
class KeyMemoTest {
  private static final HashProvider XXH64 = Hashing.xxh64();
  /** Files a test wrote were changed a moment ago: the racy rule would never remember them. */
  private static final Clock AN_HOUR_LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

  @TempDir Path ws;

  private FileDigestCache digests = FileDigestCache.builder(XXH64).clock(AN_HOUR_LATER).build();

  private KeyService service(FileDigestCache cache, Target... targets) {
    return new KeyService(ws, XXH64, cache, StateBackend.inMemory(), Map.of("HOME", "/home/x"),
        Map.of(), BuildGraph.of(List.of(targets)));
  }

  private static Target target(String command, String... inputs) {
    return Target.builder("t").command("sh", "-c", command).inputs(inputs).outputs("out/t.txt")
        .build();
  }

  private KeyService.Computed compute(KeyService keys, Target t,
      Map<String, KeyManifest.Dependency> deps) throws Exception {
    return keys.compute(t, deps, keys.resolver());
  }

  /** The key a service that remembers nothing computes, with a cache that remembers nothing. */
  private Digest freshKey(Target t, Map<String, KeyManifest.Dependency> deps, Target... others)
      throws Exception {
    FileDigestCache cold = FileDigestCache.builder(XXH64).clock(AN_HOUR_LATER).build();
    Target[] graph = java.util.Arrays.copyOf(others, others.length + 1);
    graph[others.length] = t;
    return compute(service(cold, graph), t, deps).key();
  }

  private void write(String file, String content) throws Exception {
    Files.createDirectories(ws.resolve(file).getParent());
    Files.writeString(ws.resolve(file), content);
  }

  @Test
  void nothingChanged_theLastKeyIsReused_withoutReadingAFile() throws Exception {
    write("src/a.txt", "a");
    write("src/b.txt", "b");
    Target t = target("cat src/*", "src/a.txt", "src/b.txt");
    KeyService keys = service(digests, t);
    KeyService.Computed first = compute(keys, t, Map.of());
    long read = digests.filesRead();
    assertSame(first, compute(keys, t, Map.of()));
    assertEquals(read, digests.filesRead());
    assertEquals(freshKey(t, Map.of()), first.key());
  }

  @Test
  void anInputEditedWithItsSizeAndMtimeKept_getsTheNewContentsKey() throws Exception {
    write("src/a.txt", "a1");
    Target t = target("cat src/a.txt", "src/a.txt");
    KeyService keys = service(digests, t);
    KeyService.Computed before = compute(keys, t, Map.of());
    Path a = ws.resolve("src/a.txt");
    var mtime = Files.getLastModifiedTime(a);
    Files.writeString(a, "a2"); // same size; the write moves ctime, which the stat compares
    Files.setLastModifiedTime(a, mtime);
    KeyService.Computed after = compute(keys, t, Map.of());
    assertNotEquals(before.key(), after.key());
    assertEquals(freshKey(t, Map.of()), after.key());
  }

  @Test
  void aFileAddedToAGlob_andOneRemoved_changeTheKey() throws Exception {
    write("src/a.txt", "a");
    Target t = target("cat src/*", "src/*.txt");
    KeyService keys = service(digests, t);
    KeyService.Computed one = compute(keys, t, Map.of());
    write("src/b.txt", "b");
    KeyService.Computed two = compute(keys, t, Map.of());
    assertNotEquals(one.key(), two.key());
    assertEquals(freshKey(t, Map.of()), two.key());
    assertEquals(2, two.filesChecked());
    Files.delete(ws.resolve("src/a.txt"));
    KeyService.Computed three = compute(keys, t, Map.of());
    assertNotEquals(two.key(), three.key());
    assertEquals(freshKey(t, Map.of()), three.key());
  }

  @Test
  void aRemovedPlainInput_failsTheKey_ratherThanReusingIt() throws Exception {
    write("src/a.txt", "a");
    Target t = target("cat src/a.txt", "src/a.txt");
    KeyService keys = service(digests, t);
    compute(keys, t, Map.of());
    Files.delete(ws.resolve("src/a.txt"));
    assertThrows(KeyService.InputException.class, () -> compute(keys, t, Map.of()));
  }

  @Test
  void aChangedCommandOrEnvironment_getsItsOwnKey() throws Exception {
    write("src/a.txt", "a");
    Target t = target("cat src/a.txt", "src/a.txt");
    KeyService keys = service(digests, t);
    KeyService.Computed before = compute(keys, t, Map.of());
    Target otherCommand = target("tac src/a.txt", "src/a.txt");
    KeyService.Computed command = compute(keys, otherCommand, Map.of());
    assertNotEquals(before.key(), command.key());
    assertEquals(freshKey(otherCommand, Map.of()), command.key());
    Target withEnv = Target.builder("t").command("sh", "-c", "cat src/a.txt").inputs("src/a.txt")
        .outputs("out/t.txt").env("MODE", "release").build();
    KeyService.Computed env = compute(keys, withEnv, Map.of());
    assertNotEquals(before.key(), env.key());
    assertEquals(freshKey(withEnv, Map.of()), env.key());
  }

  @Test
  void aDependencyWhoseOutputsChanged_changesTheKey_butOneThatOnlyReRanDoesNot() throws Exception {
    write("src/a.txt", "a");
    Target lib = Target.builder("lib").command("true").outputs("out/lib.txt").build();
    Target t = Target.builder("t").command("sh", "-c", "cat src/a.txt").inputs("src/a.txt")
        .outputs("out/t.txt").dependsOn("lib").build();
    KeyService keys = service(digests, lib, t);
    Digest k1 = XXH64.hash("key 1".getBytes());
    Digest k2 = XXH64.hash("key 2".getBytes());
    Digest o1 = XXH64.hash("outputs 1".getBytes());
    Digest o2 = XXH64.hash("outputs 2".getBytes());
    KeyService.Computed before = compute(keys, t, Map.of("lib", new KeyManifest.Dependency(k1, o1)));
    // Re-ran with a new key but the same outputs: early cutoff keeps the key (dependency keys are
    // recorded in the manifest, so this is a fresh computation with an equal key).
    KeyService.Computed reRan = compute(keys, t, Map.of("lib", new KeyManifest.Dependency(k2, o1)));
    assertEquals(before.key(), reRan.key());
    assertEquals(k2, reRan.manifest().dependencyKeys().get("lib"));
    KeyService.Computed changed =
        compute(keys, t, Map.of("lib", new KeyManifest.Dependency(k2, o2)));
    assertNotEquals(before.key(), changed.key());
    assertEquals(freshKey(t, Map.of("lib", new KeyManifest.Dependency(k2, o2)), lib),
        changed.key());
  }

  @Test
  void anInputInvalidatedInTheDigestCache_isReadAgain_notVouchedForByTheMemo() throws Exception {
    write("src/a.txt", "a");
    Target t = target("cat src/a.txt", "src/a.txt");
    KeyService keys = service(digests, t);
    KeyService.Computed before = compute(keys, t, Map.of());
    long read = digests.filesRead();
    digests.invalidate(ws.resolve("src/a.txt"));
    KeyService.Computed after = compute(keys, t, Map.of());
    assertNotSame(before, after);
    assertEquals(read + 1, digests.filesRead());
    assertEquals(before.key(), after.key());
  }

  @Test
  void anInputChangedWithinTheRacyWindow_isNeverReusedFromTheMemo() throws Exception {
    // The real clock: a file written just now may yet change within its timestamp's granularity
    // without its stat changing, so the cache does not remember it and the memo cannot vouch.
    FileDigestCache realClock = FileDigestCache.builder(XXH64).build();
    write("src/a.txt", "a");
    Target t = target("cat src/a.txt", "src/a.txt");
    KeyService keys = service(realClock, t);
    KeyService.Computed before = compute(keys, t, Map.of());
    long read = realClock.filesRead();
    KeyService.Computed again = compute(keys, t, Map.of());
    assertNotSame(before, again);
    assertEquals(read + 1, realClock.filesRead());
  }
}
