package dev.buildnet.api.exec;

import dev.buildnet.api.spi.DefaultProviders;
import java.util.concurrent.CompletionException;

/**
 * Runs commands given as argv lists. Never builds a shell string: where a user wants a script, it
 * is passed to a shell as one argument, with its parameters as separate arguments.
 *
 * <p>Implementations must be safe for concurrent use. {@link #start} returns once the process has
 * started; it may block briefly for the fork.
 *
 * @since 0.1
 */
public interface ShellProvider {

  /** The default provider: {@link ProcessBuilder}, with process-tree kill on timeout and cancel. */
  static ShellProvider processes() {
    return DefaultProviders.get().processShell();
  }

  /**
   * Starts {@code spec}, streaming its output to {@code listener} line by line.
   *
   * @throws dev.buildnet.api.NotStartedException with reason {@code COMMAND} if the program cannot
   *     be started (not found, not executable, working directory missing); the message names the
   *     program and the reason. Implementations throw exactly this for a start that failed, so the
   *     engine can report the target as not started.
   */
  RunningCommand start(CommandSpec spec, OutputListener listener);

  /** Starts {@code spec} and waits for it to end. */
  default CommandResult run(CommandSpec spec) {
    try {
      return start(spec, OutputListener.discard()).result().join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw e;
    }
  }
}
