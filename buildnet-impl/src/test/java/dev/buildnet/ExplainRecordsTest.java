package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import dev.buildnet.state.SqliteStateBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-target records behind {@code explain} ({@code target/<name>}, {@code
 * target-detail/<name>}) are written in one batch when a build ends, only when they change, and
 * a null build after a build of the same instance neither reads nor writes them.
 */
class ExplainRecordsTest {
  private static final int N = 6;

  @TempDir Path ws;

  private static List<Target> targets() {
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      Target.Builder b = Target.builder("t" + i)
          .command("sh", "-c", "mkdir -p out && echo " + i + " > out/t" + i + ".txt")
          .outputs("out/t" + i + ".txt");
      if (i > 0) {
        b.dependsOn("t" + (i - 1));
      }
      targets.add(b.build());
    }
    return targets;
  }

  private static BuildResult build(BuildNet net) throws Exception {
    BuildResult r = net.build("t" + (N - 1)).get(60, TimeUnit.SECONDS);
    assertTrue(r.success(), r.errors().toString());
    return r;
  }

  @Test
  void aBuildWritesTheRecordsWhenItEnds_inOneBatch_notAsEachTargetFinishes() throws Exception {
    Path db = ws.resolve(".buildnet/state.db");
    java.nio.file.Files.createDirectories(db.getParent());
    List<String> seen = new CopyOnWriteArrayList<>();
    try (SqliteStateBackend reader = SqliteStateBackend.open(db)) {
      BuildListener listener = new BuildListener() {
        @Override
        public void targetFinished(String buildId, TargetOutcome o) {
          // Another connection to the file: what a crash at this moment would leave behind.
          String summary = reader.getString("target/" + o.target()).orElse("absent");
          seen.add(summary.substring(summary.lastIndexOf(' ') + 1));
        }
      };
      try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets())
          .state(StateBackend.sqlite(db)).listener(listener).start()) {
        assertEquals(N, build(net).count(Status.BUILT));
        assertEquals(Collections.nCopies(N, "absent"), seen, "records written before the end");
        for (int i = 0; i < N; i++) {
          assertTrue(reader.getString("target/t" + i).orElseThrow().endsWith(" miss"));
        }

        seen.clear();
        assertEquals(N, build(net).count(Status.CACHED));
        assertEquals(Collections.nCopies(N, "miss"), seen, "hits recorded before the end");
        for (int i = 0; i < N; i++) {
          assertTrue(reader.getString("target/t" + i).orElseThrow().endsWith(" hit"));
        }
        assertTrue(net.explain("t3").cached());
      }
    }
  }

  @Test
  void aRepeatNullBuild_neitherReadsNorWritesThem_andAFreshInstanceOnlyReadsOneRowPerTarget()
      throws Exception {
    try (CountingStateBackend state = new CountingStateBackend(StateBackend.inMemory(),
        key -> key.startsWith("target/") || key.startsWith("target-detail/"))) {
      try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets()).state(state)
          .start()) {
        build(net);
        assertEquals(2 * N, state.writes.get(), "a detail and a summary per target");

        state.reset();
        assertEquals(N, build(net).count(Status.CACHED));
        assertEquals(2 * N, state.writes.get(), "the first null build records the hits");

        state.reset();
        assertEquals(N, build(net).count(Status.CACHED));
        assertEquals(0, state.reads.get(), "a repeat null build reads no record");
        assertEquals(0, state.writes.get(), "a repeat null build writes no record");
      }
      state.reset();
      try (BuildNet fresh = BuildNet.builder().workspace(ws).targets(targets()).state(state)
          .start()) {
        assertEquals(N, build(fresh).count(Status.CACHED));
        assertEquals(N, state.reads.get(), "one summary per target");
        assertEquals(0, state.writes.get());
        assertTrue(fresh.explain("t0").cached());
      }
    }
  }
}
