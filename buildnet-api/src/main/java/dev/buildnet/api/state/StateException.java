package dev.buildnet.api.state;

import dev.buildnet.api.BuildNetException;

/**
 * A {@link StateBackend} could not complete an operation: the store is corrupt, read-only,
 * unreachable, or a stored value does not fit the operation (e.g. {@code increment} of a value
 * that is not an integer). The message names the store and the key or resource involved.
 *
 * @since 0.1
 */
public class StateException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  public StateException(String message) {
    super(message);
  }

  public StateException(String message, Throwable cause) {
    super(message, cause);
  }
}
