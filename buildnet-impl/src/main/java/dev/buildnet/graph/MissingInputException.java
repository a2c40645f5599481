package dev.buildnet.graph;

import dev.buildnet.api.BuildNetException;

/**
 * A target declares a plain input path (not a glob) that is not in the workspace, or that cannot
 * be used as an input (a link leading outside the workspace, a link to a directory).
 *
 * @since 0.1
 */
public final class MissingInputException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final String target;
  private final String path;

  public MissingInputException(String target, String path, String reason) {
    super("target '" + target + "': input '" + path + "' " + reason);
    this.target = target;
    this.path = path;
  }

  /** The target that declared the input. */
  public String target() {
    return target;
  }

  /** The input as declared (normalized), relative to the workspace root. */
  public String path() {
    return path;
  }
}
