package dev.buildnet.http;

import dev.buildnet.BuildNet;
import dev.buildnet.DispatchStats;

/** {@link DispatchView#of}: the engine's own figures ({@link BuildNet#dispatchStats()}). */
final class HistoryDispatchView implements DispatchView, AutoCloseable {
  private final BuildNet net;

  HistoryDispatchView(BuildNet net) {
    this.net = net;
  }

  @Override
  public int queueLength() {
    return net.dispatchStats().queued();
  }

  @Override
  public Latency dispatchLatency() {
    DispatchStats s = net.dispatchStats();
    return s.samples() == 0 ? Latency.NONE
        : new Latency(s.samples(), s.p50(), s.p90(), s.p99(), s.max());
  }

  @Override
  public boolean acceptingWork() {
    return net.acceptingBuilds();
  }

  @Override
  public DrainOutcome drainWorker(String workerId) {
    return net.master().map(m -> m.dispatcher().drain(workerId)).orElse(false)
        ? DrainOutcome.DRAINING : DrainOutcome.UNKNOWN_WORKER;
  }

  @Override
  public void close() {
    // nothing to release: the figures are read on demand
  }
}
