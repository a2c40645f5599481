package dev.buildnet;

import dev.buildnet.internal.events.BuildHistory;

/**
 * How much of the targets' output BuildNet keeps in memory, in bytes. Whatever a target prints is
 * always read to the end and streamed to listeners line by line; these limits bound only what is
 * <em>kept</em>: a target's captured stdout and stderr (what its cache record stores), and the log
 * tails of {@link BuildHistory}. Past a limit BuildNet keeps the head and the tail of the output
 * and puts a {@code [buildnet: N bytes omitted]} marker between them.
 *
 * @param perTargetBytes what one target keeps: of its stdout and, separately, of its stderr in the
 *     command result and the cache; and of its log lines in the history. At least 1 KiB, at most
 *     {@link Integer#MAX_VALUE}.
 * @param perBuildBytes the history's log lines of all targets of one build together; at least
 *     {@code perTargetBytes}
 * @param totalBytes the history's log lines of every build it keeps; at least {@code
 *     perBuildBytes}. Past it, the logs of the oldest finished builds are dropped first.
 * @since 0.1
 */
public record LogLimits(long perTargetBytes, long perBuildBytes, long totalBytes) {
  /** 1 MiB per target, 16 MiB per build, 128 MiB for the whole history. */
  public static final LogLimits DEFAULT = new LogLimits(1L << 20, 16L << 20, 128L << 20);

  public LogLimits {
    if (perTargetBytes < 1024 || perTargetBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "perTargetBytes must be between 1024 and " + Integer.MAX_VALUE + " but was "
              + perTargetBytes);
    }
    if (perBuildBytes < perTargetBytes) {
      throw new IllegalArgumentException("perBuildBytes (" + perBuildBytes
          + ") must be at least perTargetBytes (" + perTargetBytes + ")");
    }
    if (totalBytes < perBuildBytes) {
      throw new IllegalArgumentException("totalBytes (" + totalBytes
          + ") must be at least perBuildBytes (" + perBuildBytes + ")");
    }
  }
}
