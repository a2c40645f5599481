package dev.buildnet.api.exec;

/**
 * Receives a running command's output line by line, as it is produced. Called from a reader thread
 * of the {@link ShellProvider}, one call at a time per stream; must not block for long. A
 * {@link RuntimeException} it throws stops further calls to it; an {@link Error} fails the command.
 *
 * @since 0.1
 */
@FunctionalInterface
public interface OutputListener {
  /** Which of the child's streams a line came from. */
  enum Stream {
    STDOUT,
    STDERR
  }

  /** A line without its terminator (a final line without one is delivered too). */
  void onLine(Stream stream, String line);

  /** A listener that ignores everything. */
  static OutputListener discard() {
    return (stream, line) -> {};
  }
}
