package dev.buildnet.api.state;

/**
 * What a {@link StateBackend} can do, so callers can choose a backend or degrade gracefully.
 *
 * @param multiNode several processes or machines can share it
 * @param persistent its contents survive a restart of the process
 * @param distributedLocks its locks exclude holders in other processes, not only other threads
 * @param pubSub {@link StateBackend#subscribe} and {@link StateBackend#publish} are supported
 * @since 0.1
 */
public record StateCapabilities(
    boolean multiNode, boolean persistent, boolean distributedLocks, boolean pubSub) {}
