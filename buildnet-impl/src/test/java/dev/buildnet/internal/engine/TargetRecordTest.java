package dev.buildnet.internal.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

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
 * A {@link TargetRecord} kept across builds only speeds keying up: whatever it holds from an
 * earlier build (another definition of the target under the same name, another service, inputs or
 * dependencies since changed), the key is the one a service remembering nothing computes.
 */
class TargetRecordTest {
  private static final HashProvider XXH64 = Hashing.xxh64();
  /** Files a test wrote were changed a moment ago: the racy rule would never remember them. */
  private static final Clock AN_HOUR_LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

  @TempDir Path ws;

  private final TargetRecord record = new TargetRecord();

  private KeyService service(String home, Target... graph) {
    return new KeyService(ws, XXH64, FileDigestCache.builder(XXH64).clock(AN_HOUR_LATER).build(),
        StateBackend.inMemory(), Map.of("HOME", home), Map.of(), BuildGraph.of(List.of(graph)));
  }

  private static Target target(String command) {
    return Target.builder("t").command("sh", "-c", command).inputs("src/a.txt")
        .envPassthrough("HOME").outputs("out/t.txt").build();
  }

  private KeyService.Computed keyed(KeyService keys, Target t,
      Map<String, KeyManifest.Dependency> deps) throws Exception {
    return keys.compute(record, t, deps, keys.resolver());
  }

  /** What a service that remembers nothing computes, without a record. */
  private Digest fresh(String home, Target t, Map<String, KeyManifest.Dependency> deps,
      Target... others) throws Exception {
    Target[] graph = java.util.Arrays.copyOf(others, others.length + 1);
    graph[others.length] = t;
    KeyService cold = service(home, graph);
    return cold.compute(t, deps, cold.resolver()).key();
  }

  private void write(String content) throws Exception {
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/a.txt"), content);
  }

  @Test
  void nothingChanged_theRecordHandsBackTheSameKey() throws Exception {
    write("a");
    Target t = target("cat src/a.txt");
    KeyService keys = service("/home/x", t);
    KeyService.Computed first = keyed(keys, t, Map.of());
    assertSame(first, keyed(keys, t, Map.of()));
    assertSame(first, record.key.computed());
  }

  @Test
  void aTargetRedefinedUnderTheSameName_getsItsOwnKey_notTheRecordsOne() throws Exception {
    write("a");
    Target before = target("cat src/a.txt");
    KeyService keys = service("/home/x", before);
    Digest was = keyed(keys, before, Map.of()).key();
    Target after = target("tac src/a.txt");
    Digest now = keyed(keys, after, Map.of()).key();
    assertNotEquals(was, now);
    assertEquals(fresh("/home/x", after, Map.of()), now);
    assertEquals(was, keyed(keys, before, Map.of()).key(), "and back again");
  }

  @Test
  void aRecordFilledByAnotherService_isNotTrusted() throws Exception {
    write("a");
    Target t = target("cat src/a.txt");
    Digest x = keyed(service("/home/x", t), t, Map.of()).key();
    Digest y = keyed(service("/home/y", t), t, Map.of()).key();
    assertNotEquals(x, y, "HOME is hashed, and each service has its own");
    assertEquals(fresh("/home/y", t, Map.of()), y);
  }

  @Test
  void anInputEditedSinceTheRecord_getsTheNewContentsKey() throws Exception {
    write("a1");
    Target t = target("cat src/a.txt");
    KeyService keys = service("/home/x", t);
    Digest was = keyed(keys, t, Map.of()).key();
    Path a = ws.resolve("src/a.txt");
    var mtime = Files.getLastModifiedTime(a);
    Files.writeString(a, "a2"); // same size; the write moves ctime, which the stat compares
    Files.setLastModifiedTime(a, mtime);
    Digest now = keyed(keys, t, Map.of()).key();
    assertNotEquals(was, now);
    assertEquals(fresh("/home/x", t, Map.of()), now);
  }

  @Test
  void aDependencysOutputsChangedSinceTheRecord_changeTheKey() throws Exception {
    write("a");
    Target d = Target.builder("d").command("true").outputs("out/d.txt").build();
    Target t = Target.builder("t").command("sh", "-c", "cat src/a.txt").inputs("src/a.txt")
        .dependsOn("d").outputs("out/t.txt").build();
    KeyService keys = service("/home/x", d, t);
    Digest depKey = XXH64.hash("dep".getBytes());
    var one = Map.of("d", new KeyManifest.Dependency(depKey, XXH64.hash("out 1".getBytes())));
    var two = Map.of("d", new KeyManifest.Dependency(depKey, XXH64.hash("out 2".getBytes())));
    Digest was = keyed(keys, t, one).key();
    Digest now = keyed(keys, t, two).key();
    assertNotEquals(was, now);
    assertEquals(fresh("/home/x", t, two, d), now);
  }
}
