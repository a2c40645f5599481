package dev.buildnet;

import java.time.Duration;
import java.util.Objects;

/**
 * The scheduler at one moment, for metrics and dashboards: see {@link BuildNet#dispatchStats()}.
 *
 * @param queued ready targets (dependencies done) waiting for a slot or a worker
 * @param waitingForWorker of those, targets no connected worker (nor this machine) can run now
 * @param running targets started and not yet finished, locally or on workers
 * @param samples how many recent dispatches the latencies summarize (at most 1024)
 * @param p50 median time from a target becoming ready to it starting
 * @param p90 90th percentile of it
 * @param p99 99th percentile of it
 * @param max the longest of the recent ones
 * @since 0.1
 */
public record DispatchStats(
    int queued,
    int waitingForWorker,
    int running,
    long samples,
    Duration p50,
    Duration p90,
    Duration p99,
    Duration max) {

  public DispatchStats {
    Objects.requireNonNull(p50, "p50");
    Objects.requireNonNull(p90, "p90");
    Objects.requireNonNull(p99, "p99");
    Objects.requireNonNull(max, "max");
  }
}
