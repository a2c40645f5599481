package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Junk in the blob store costs a target one rebuild, never a permanent failure: before, a
 * directory where an output's blob belongs failed that target on every build.
 */
class CasJunkBuildTest {
  @TempDir Path ws;

  private BuildNet start() {
    return BuildNet.builder().workspace(ws).state(StateBackend.inMemory()).localSlots(1)
        .targets(List.of(Target.builder("gen")
            .command("sh", "-c", "printf 'generated output' > out.txt").outputs("out.txt").build()))
        .start();
  }

  @Test
  void aDirectoryWhereAnOutputsBlobBelongs_isAMissAndTheTargetBuildsAgain() throws Exception {
    try (BuildNet net = start()) {
      TargetOutcome first = net.build("gen").join().target("gen").orElseThrow();
      assertEquals(Status.BUILT, first.status());
      Digest blob = first.artifacts().get(0).digest();
      Path blobPath = net.blobs().root().resolve(blob.algorithm())
          .resolve(blob.hex().substring(0, 2)).resolve(blob.hex());
      assertTrue(Files.isRegularFile(blobPath), blobPath.toString());
      Files.delete(blobPath);
      Files.createDirectories(blobPath.resolve("junk"));
      Files.delete(ws.resolve("out.txt"));

      BuildResult second = net.build("gen").join();
      assertEquals(Status.BUILT, second.target("gen").orElseThrow().status(), second.toString());
      assertEquals("generated output", Files.readString(ws.resolve("out.txt")));
      assertTrue(Files.isRegularFile(blobPath, LinkOption.NOFOLLOW_LINKS), "stored afresh");

      Files.delete(ws.resolve("out.txt"));
      BuildResult third = net.build("gen").join();
      assertEquals(Status.CACHED, third.target("gen").orElseThrow().status(), third.toString());
      assertEquals("generated output", Files.readString(ws.resolve("out.txt")));
    }
  }

  @Test
  void aTruncatedBlob_isAMissAndTheTargetBuildsAgain() throws Exception {
    try (BuildNet net = start()) {
      Digest blob = net.build("gen").join().target("gen").orElseThrow().artifacts().get(0).digest();
      Path blobPath = net.blobs().root().resolve(blob.algorithm())
          .resolve(blob.hex().substring(0, 2)).resolve(blob.hex());
      Files.writeString(blobPath, "gen");
      Files.delete(ws.resolve("out.txt"));

      BuildResult second = net.build("gen").join();
      assertEquals(Status.BUILT, second.target("gen").orElseThrow().status(), second.toString());
      assertEquals("generated output", Files.readString(ws.resolve("out.txt")));
    }
  }
}
