package dev.buildnet;

/**
 * What {@link BuildNet#gc()} removed.
 *
 * @param blobsRemoved blobs evicted, least recently used first
 * @param bytesFreed their total size
 * @param entriesRemoved action-cache records dropped because a blob they name is gone
 * @param bytesRemaining what the blob store holds afterwards
 * @since 0.1
 */
public record GcReport(int blobsRemoved, long bytesFreed, int entriesRemoved, long bytesRemaining) {}
