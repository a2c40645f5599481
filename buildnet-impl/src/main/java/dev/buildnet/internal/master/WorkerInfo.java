package dev.buildnet.internal.master;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A snapshot of one worker connected to a {@link MasterServer}: what it advertised in its HELLO
 * and what it has claimed since. Immutable.
 *
 * @param id the worker's id (its HELLO {@code peer_id})
 * @param runtime the runtime of its HELLO envelope, e.g. {@code jvm}, {@code python}
 * @param address where it connected from
 * @param capabilities what it can run, e.g. {@code node}, {@code esbuild}
 * @param cpuSlots CPU slots it advertised
 * @param memoryMb memory it advertised, in MB
 * @param connectedAt when it was accepted, on the master's wall clock
 * @param lastHeartbeatNanos when the master last heard from it, on the master's monotonic clock
 * @param silentFor how long it had been silent when this snapshot was taken (monotonic clock)
 * @param runningAttempts target attempts it said it was running in its last HEARTBEAT (0 if it never said)
 * @param claimedCpuSlots CPU slots held by its open resource claims
 * @param claimedMemoryMb memory held by its open resource claims, in MB
 * @param claims how many resource claims it holds
 * @since 0.1
 */
public record WorkerInfo(
    String id,
    String runtime,
    InetSocketAddress address,
    List<String> capabilities,
    long cpuSlots,
    long memoryMb,
    Instant connectedAt,
    long lastHeartbeatNanos,
    Duration silentFor,
    long runningAttempts,
    long claimedCpuSlots,
    long claimedMemoryMb,
    int claims) {
  public WorkerInfo {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(runtime, "runtime");
    capabilities = List.copyOf(capabilities);
    Objects.requireNonNull(connectedAt, "connectedAt");
    Objects.requireNonNull(silentFor, "silentFor");
  }

  /** CPU slots not held by a claim. */
  public long freeCpuSlots() {
    return cpuSlots - claimedCpuSlots;
  }

  /** Memory not held by a claim, in MB. */
  public long freeMemoryMb() {
    return memoryMb - claimedMemoryMb;
  }
}
