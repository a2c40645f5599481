package dev.buildnet.api.exec;

import java.util.concurrent.CompletableFuture;

/**
 * A command started by {@link ShellProvider#start}. Thread-safe.
 *
 * @since 0.1
 */
public interface RunningCommand {
  /** The OS process id of the command's root process. */
  long pid();

  /**
   * Completes when the command and every process it started have ended (or been killed), with the
   * result; completes exceptionally only if the provider itself failed.
   */
  CompletableFuture<CommandResult> result();

  /**
   * Stops the command: a polite signal to its whole process tree, then after the spec's grace
   * period a forced kill of whatever remains, grandchildren included. The result's outcome is then
   * {@link CommandResult.Outcome#CANCELLED}. Idempotent; a no-op once the command has ended.
   */
  void cancel();
}
