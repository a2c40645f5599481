package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.BuildNet;
import dev.buildnet.DispatchStats;

/**
 * {@link DispatchView#of}: the engine's own figures, read on demand from {@link
 * BuildNet#dispatchStats()}; holds nothing to release.
 */
final class BuildNetDispatchView implements DispatchView {
  private final BuildNet net;

  BuildNetDispatchView(BuildNet net) {
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
    return AddOns.master(net).map(m -> m.dispatcher().drain(workerId)).orElse(false)
        ? DrainOutcome.DRAINING : DrainOutcome.UNKNOWN_WORKER;
  }
}
