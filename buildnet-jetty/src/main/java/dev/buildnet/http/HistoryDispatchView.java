package dev.buildnet.http;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.events.BuildEvent;
import dev.buildnet.events.BuildHistory;
import dev.buildnet.events.BuildSnapshot;
import dev.buildnet.remote.WorkerInfo;
import java.time.Duration;
import java.util.Arrays;

/** {@link DispatchView#of}: approximations from {@link BuildHistory}. */
final class HistoryDispatchView implements DispatchView, AutoCloseable {
  private static final int SAMPLES = 1024;

  private final BuildNet net;
  private final long[] ring = new long[SAMPLES];
  private long count;
  private final BuildHistory.Subscription subscription;

  HistoryDispatchView(BuildNet net) {
    this.net = net;
    this.subscription = net.history().subscribe(null, false, false, this::onEvent);
  }

  /** Runs on the build's thread under the history's lock: reading the finished build is cheap. */
  private void onEvent(BuildEvent e) {
    if (e.kind() != BuildEvent.Kind.BUILD_FINISHED) {
      return;
    }
    net.history().build(e.buildId()).map(BuildSnapshot::result).ifPresent(r -> {
      synchronized (ring) {
        for (TargetOutcome t : r.targets()) {
          if (t.attempts() > 0) {
            ring[(int) (count++ % SAMPLES)] = t.metrics().queueWait().toNanos();
          }
        }
      }
    });
  }

  @Override
  public int queueLength() {
    int pending = 0;
    for (BuildSnapshot b : net.history().builds()) {
      if (!b.finished()) {
        pending += (int) b.targets().stream().filter(t -> t.status().equals("pending")).count();
      }
    }
    return pending;
  }

  @Override
  public Latency dispatchLatency() {
    long[] sorted;
    long n;
    synchronized (ring) {
      n = count;
      sorted = Arrays.copyOf(ring, (int) Math.min(count, SAMPLES));
    }
    if (sorted.length == 0) {
      return Latency.NONE;
    }
    Arrays.sort(sorted);
    return new Latency(Math.min(n, SAMPLES), q(sorted, 0.5), q(sorted, 0.9), q(sorted, 0.99),
        Duration.ofNanos(sorted[sorted.length - 1]));
  }

  private static Duration q(long[] sorted, double q) {
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return Duration.ofNanos(sorted[Math.max(0, Math.min(sorted.length - 1, i))]);
  }

  @Override
  public boolean acceptingWork() {
    return net.acceptingBuilds();
  }

  @Override
  public DrainOutcome drainWorker(String workerId) {
    boolean known = net.master().map(m -> m.workers().stream().map(WorkerInfo::id)
        .anyMatch(workerId::equals)).orElse(false);
    return known ? DrainOutcome.UNSUPPORTED : DrainOutcome.UNKNOWN_WORKER;
  }

  @Override
  public void close() {
    subscription.close();
  }
}
