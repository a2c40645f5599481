package dev.buildnet.api.exec;

import java.time.Duration;
import java.util.Objects;

/**
 * How a command ended, what it printed (up to the spec's cap), and what it cost.
 *
 * @param outcome why it ended
 * @param exitCode its exit status; for a process killed by a signal, 128 + the signal number
 * @param stdout captured standard output: all of it, or past {@code outputCapBytes} its head and
 *     tail ({@code outputCapBytes} in all) around a line {@code [buildnet: N bytes omitted]}
 * @param stderr captured standard error, kept the same way
 * @param outputTruncated true if either stream produced more than the cap
 * @param wallTime from start to exit
 * @param cpuTime user + system CPU time of the process (and of its reaped descendants where the OS
 *     reports them); {@link Duration#ZERO} where the OS does not say
 * @param peakMemoryBytes the largest resident set size seen; 0 where the OS does not say
 * @since 0.1
 */
public record CommandResult(
    Outcome outcome,
    int exitCode,
    byte[] stdout,
    byte[] stderr,
    boolean outputTruncated,
    Duration wallTime,
    Duration cpuTime,
    long peakMemoryBytes) {

  /** Why a command ended. */
  public enum Outcome {
    /** It exited by itself (with any exit code). */
    EXITED,
    /** It ran past its timeout and its process tree was killed. */
    TIMED_OUT,
    /** It was cancelled and its process tree was killed. */
    CANCELLED
  }

  public CommandResult {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(stdout, "stdout");
    Objects.requireNonNull(stderr, "stderr");
    Objects.requireNonNull(wallTime, "wallTime");
    Objects.requireNonNull(cpuTime, "cpuTime");
  }

  /** True if it exited by itself with status 0. */
  public boolean succeeded() {
    return outcome == Outcome.EXITED && exitCode == 0;
  }
}
