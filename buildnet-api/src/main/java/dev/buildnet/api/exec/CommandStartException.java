package dev.buildnet.api.exec;

import dev.buildnet.api.BuildNetException;

/**
 * A command could not be started: the program was not found or is not executable, or the working
 * directory does not exist.
 *
 * @since 0.1
 */
public class CommandStartException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  public CommandStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
