package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.Target;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression test for the flaky {@code ApiTest.cancel_stopsARunningBuild}: a cancel that follows
 * the buildFinished event was accepted (the HTTP API answered 202 instead of 409) because the
 * engine still listed the build as running for a moment after the event.
 */
class CancelAfterFinishTest {
  @TempDir Path ws;

  @Test
  void cancel_afterTheFinishedEvent_isRefused_evenBeforeTheFutureCompletes() throws Exception {
    AtomicReference<BuildNet> self = new AtomicReference<>();
    CompletableFuture<Boolean> cancelSeenByListener = new CompletableFuture<>();
    // Cancels from inside the buildFinished event: the latest moment the engine may still hold
    // the run, so this hits the window deterministically instead of by chance under load.
    BuildListener canceller = new BuildListener() {
      @Override
      public void buildFinished(BuildResult result) {
        cancelSeenByListener.complete(self.get().cancel(result.buildId()));
      }
    };
    try (BuildNet net = BuildNet.builder().workspace(ws).listener(canceller)
        .targets(List.of(Target.builder("t").command("true").cacheable(false).build()))
        .start()) {
      self.set(net);
      BuildFuture f = net.build("t");
      assertFalse(cancelSeenByListener.get(30, TimeUnit.SECONDS),
          "a build whose finished event went out was cancelled");
      BuildResult r = f.get(30, TimeUnit.SECONDS);
      assertTrue(r.success(), r.toString());
      assertFalse(f.isCancelled());
      assertFalse(net.cancel(f.buildId()));
      assertEquals("succeeded", net.history().build(f.buildId()).orElseThrow().status());
    }
  }
}
