package dev.buildnet.http;

import dev.buildnet.BuildNet;
import java.time.Duration;
import java.util.Objects;

/**
 * What the HTTP module shows of the dispatcher: queue length, dispatch latency, draining one
 * worker, and whether work is accepted. {@link #of} reads them from {@link BuildNet}; a host with
 * its own scheduler in front supplies another through {@link BuildNetHttp.Builder#dispatchView}.
 *
 * <p>Implementations must be thread-safe and must not block: they are called on request threads
 * and for every {@code /metrics} scrape.
 *
 * @since 0.1
 */
public interface DispatchView {

  /** Targets ready to run (their dependencies done) and waiting for a slot or a worker. */
  int queueLength();

  /** The latency from a target becoming runnable to it starting, over recent targets. */
  Latency dispatchLatency();

  /**
   * Whether new builds are accepted now. {@code /ready} is 503 when not, and also while
   * {@link BuildNet#writeFailure()} says writes fail.
   */
  boolean acceptingWork();

  /**
   * Asks the dispatcher to give {@code workerId} no new work and to let it finish what it runs.
   * Returns at once.
   */
  DrainOutcome drainWorker(String workerId);

  /** What {@link #drainWorker} did. */
  enum DrainOutcome {
    /** The worker gets no new work from now on. */
    DRAINING,
    /** No connected worker has that id. */
    UNKNOWN_WORKER,
    /** This dispatcher cannot drain a single worker. */
    UNSUPPORTED
  }

  /**
   * Latency quantiles; all zero when there are no samples.
   *
   * @param samples how many recent dispatches they summarize
   */
  record Latency(long samples, Duration p50, Duration p90, Duration p99, Duration max) {
    public static final Latency NONE =
        new Latency(0, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);

    public Latency {
      Objects.requireNonNull(p50, "p50");
      Objects.requireNonNull(p90, "p90");
      Objects.requireNonNull(p99, "p99");
      Objects.requireNonNull(max, "max");
    }
  }

  /**
   * The engine's own figures: queue length is the ready targets waiting for a slot or a worker,
   * latency is ready-to-started over the last 1024 dispatches ({@link BuildNet#dispatchStats()}),
   * and draining a worker goes to the master's dispatcher.
   */
  static DispatchView of(BuildNet net) {
    return new BuildNetDispatchView(net);
  }
}
