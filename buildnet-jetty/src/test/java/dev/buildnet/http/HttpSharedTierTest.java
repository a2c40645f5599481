package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.blob.HttpBlobStore;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two masters share one cache: the action records in one state backend, the blobs in the real
 * HTTP cache of a third BuildNet, as the shared tier behind each master's disk store.
 */
class HttpSharedTierTest {
  @TempDir Path dir;

  private BuildNet master(Path workspace, StateBackend state, HttpBlobStore tier) {
    return BuildNet.builder().workspace(workspace).state(state).hashes(HashProvider.sha256())
        .sharedBlobs(tier).localSlots(1)
        .targets(List.of(Target.builder("gen").command("sh", "-c", "printf generated > gen.txt")
            .outputs("gen.txt").build()))
        .start();
  }

  @Test
  void aSecondMaster_restoresTheOutputsFromTheHttpTier_withoutRunning() throws Exception {
    try (Fixture cache = new Fixture(b -> b.token(Fixture.TOKEN));
        StateBackend state = StateBackend.inMemory();
        HttpBlobStore tier = HttpBlobStore.connect(cache.uri("/"), Fixture.TOKEN,
            Duration.ofSeconds(30))) {
      Path a = Files.createDirectories(dir.resolve("a"));
      Path b = Files.createDirectories(dir.resolve("b"));
      try (BuildNet first = master(a, state, tier)) {
        BuildResult r = first.build("gen").get(60, TimeUnit.SECONDS);
        assertEquals(TargetOutcome.Status.BUILT, r.target("gen").orElseThrow().status());
      }
      long puts = Fixture.json(cache.get("/api/cache")).get("httpCache").get("puts").asLong();
      assertTrue(puts >= 1, "the output was written through to the HTTP cache: " + puts);
      try (BuildNet second = master(b, state, tier)) {
        BuildResult r = second.build("gen").get(60, TimeUnit.SECONDS);
        assertEquals(TargetOutcome.Status.CACHED, r.target("gen").orElseThrow().status());
      }
      assertEquals("generated", Files.readString(b.resolve("gen.txt")));
    }
  }

  @Test
  void aTierOfAnotherHash_isRefusedWhenTheMasterIsBuilt() throws Exception {
    try (HttpBlobStore tier = HttpBlobStore.connect(java.net.URI.create("http://127.0.0.1:9/"),
        null, Duration.ofSeconds(1))) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> BuildNet.builder().workspace(dir).sharedBlobs(tier).start());
      assertTrue(e.getMessage().contains("sha256"), e.getMessage());
    }
  }
}
