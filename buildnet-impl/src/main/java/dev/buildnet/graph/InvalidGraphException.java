package dev.buildnet.graph;

import dev.buildnet.api.BuildNetException;
import java.nio.file.Path;
import java.util.List;

/**
 * A set of targets (or a workspace file) does not form a valid build graph. Carries every problem
 * found, not just the first, so a person can fix them all in one pass: duplicate names, missing
 * dependencies, dependency cycles (with their path), outputs declared by two targets, and, when
 * loading a workspace file, invalid target declarations.
 *
 * <p>A workspace file that is missing, unreadable, not JSON or not of the expected shape gets one
 * too, with its one problem as the message (starting with {@code file:line:column:} when the
 * location is known) and the location in {@link #file}, {@link #line} and {@link #column}.
 *
 * @since 0.1
 */
public final class InvalidGraphException extends BuildNetException {
  private static final long serialVersionUID = 1L;
  private static final int LISTED_IN_MESSAGE = 50;

  private final String source;
  private final List<String> problems;
  private final transient Path file;
  private final int line;
  private final int column;

  /**
   * @param source where the targets came from (e.g. a file path), or null
   * @param problems what is wrong, one sentence each; at least one
   */
  public InvalidGraphException(String source, List<String> problems) {
    super(message(source, problems));
    this.source = source;
    this.problems = List.copyOf(problems);
    this.file = null;
    this.line = 0;
    this.column = 0;
  }

  /** A workspace file (null: text with a source name) that could not be read: {@code message} is its one problem. */
  InvalidGraphException(Path file, int line, int column, String message, Throwable cause) {
    super(message, cause);
    this.source = file == null ? null : file.toString();
    this.problems = List.of(message);
    this.file = file;
    this.line = line;
    this.column = column;
  }

  private static String message(String source, List<String> problems) {
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("an InvalidGraphException needs at least one problem");
    }
    StringBuilder m = new StringBuilder("invalid build graph");
    if (source != null) {
      m.append(" in ").append(source);
    }
    m.append(": ").append(problems.size()).append(problems.size() == 1 ? " problem" : " problems");
    for (int i = 0; i < Math.min(problems.size(), LISTED_IN_MESSAGE); i++) {
      m.append("\n  - ").append(problems.get(i));
    }
    if (problems.size() > LISTED_IN_MESSAGE) {
      m.append("\n  ... and ").append(problems.size() - LISTED_IN_MESSAGE).append(" more");
    }
    return m.toString();
  }

  /** Where the targets came from, e.g. the workspace file's path; null if not from a file. */
  public String source() {
    return source;
  }

  /** Every problem found, one sentence each, in a stable order. */
  public List<String> problems() {
    return problems;
  }

  /**
   * The workspace file, as given to the loader, when it could not be read as one (missing,
   * unreadable, malformed); null otherwise.
   */
  public Path file() {
    return file;
  }

  /** The 1-based line of a malformed workspace file's problem, or 0 when there is no location. */
  public int line() {
    return line;
  }

  /** The 1-based column of a malformed workspace file's problem, or 0 when there is no location. */
  public int column() {
    return column;
  }
}
