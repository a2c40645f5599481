package dev.buildnet.graph;

import dev.buildnet.api.BuildNetException;
import java.nio.file.Path;

/**
 * A workspace file is missing, unreadable, not JSON, or not of the expected shape. The message
 * starts with {@code file:line:column:} when the location is known.
 *
 * <p>A file that parses but declares an invalid graph gets an {@link InvalidGraphException}.
 *
 * @since 0.1
 */
public final class WorkspaceFileException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final int line;
  private final int column;

  WorkspaceFileException(Path file, int line, int column, String message, Throwable cause) {
    super(message, cause);
    this.file = file;
    this.line = line;
    this.column = column;
  }

  /** The file, as given to the loader. */
  public Path file() {
    return file;
  }

  /** The 1-based line of the problem, or 0 when there is no location. */
  public int line() {
    return line;
  }

  /** The 1-based column of the problem, or 0 when there is no location. */
  public int column() {
    return column;
  }
}
