package dev.buildnet.graph;

import dev.buildnet.api.BuildNetException;
import java.util.List;

/**
 * A build asked for targets the graph does not define. The message suggests close matches.
 *
 * @since 0.1
 */
public final class UnknownTargetException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final List<String> unknownNames;

  UnknownTargetException(String message, List<String> unknownNames) {
    super(message);
    this.unknownNames = List.copyOf(unknownNames);
  }

  /** The requested names that are not in the graph, in request order. */
  public List<String> unknownNames() {
    return unknownNames;
  }
}
