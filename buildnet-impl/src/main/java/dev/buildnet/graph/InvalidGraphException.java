package dev.buildnet.graph;

import dev.buildnet.api.BuildNetException;
import java.nio.file.Path;
import java.util.List;

/**
 * The targets a build was given, or asked for, do not work as a build graph: fix the workspace or
 * the request and try again. {@link #reason()} says which part is wrong:
 *
 * <ul>
 *   <li>{@link Reason#INVALID}: a set of targets (or a workspace file) does not form a valid build
 *       graph. Carries every problem found, not just the first, so a person can fix them all in
 *       one pass: duplicate names, missing dependencies, dependency cycles (with their path),
 *       outputs declared by two targets, and, when loading a workspace file, invalid target
 *       declarations. A workspace file that is missing, unreadable, not JSON or not of the
 *       expected shape gets one too, with its one problem as the message (starting with {@code
 *       file:line:column:} when the location is known) and the location in {@link #file}, {@link
 *       #line} and {@link #column}.
 *   <li>{@link Reason#MISSING_INPUT}: a target declares a plain input path (not a glob) that is
 *       not in the workspace, or that cannot be used as an input (a link leading outside the
 *       workspace, a link to a directory). {@link #target} and {@link #input} name them.
 *   <li>{@link Reason#UNKNOWN_TARGET}: a build asked for targets the graph does not define. The
 *       message suggests close matches; {@link #unknownNames} lists them. (The HTTP API answers
 *       this with 400 {@code unknown_target} for a build and 404 for a single target.)
 * </ul>
 *
 * <p>{@link #problems()} always lists what is wrong, one sentence each.
 *
 * @since 0.1
 */
public final class InvalidGraphException extends BuildNetException {
  private static final long serialVersionUID = 1L;
  private static final int LISTED_IN_MESSAGE = 50;

  /** Which part of the graph or the request is wrong; see the class comment. */
  public enum Reason {
    /** The targets (or the workspace file) do not form a valid graph. */
    INVALID,
    /** A plain input a target declares is missing or unusable. */
    MISSING_INPUT,
    /** A build asked for targets the graph does not define. */
    UNKNOWN_TARGET
  }

  private final Reason reason;
  private final String source;
  private final List<String> problems;
  private final transient Path file;
  private final int line;
  private final int column;
  private final String target;
  private final String input;
  private final List<String> unknownNames;

  /**
   * @param source where the targets came from (e.g. a file path), or null
   * @param problems what is wrong, one sentence each; at least one
   */
  public InvalidGraphException(String source, List<String> problems) {
    super(message(source, problems));
    this.reason = Reason.INVALID;
    this.source = source;
    this.problems = List.copyOf(problems);
    this.file = null;
    this.line = 0;
    this.column = 0;
    this.target = null;
    this.input = null;
    this.unknownNames = List.of();
  }

  /** A workspace file (null: text with a source name) that could not be read: {@code message} is its one problem. */
  InvalidGraphException(Path file, int line, int column, String message, Throwable cause) {
    super(message, cause);
    this.reason = Reason.INVALID;
    this.source = file == null ? null : file.toString();
    this.problems = List.of(message);
    this.file = file;
    this.line = line;
    this.column = column;
    this.target = null;
    this.input = null;
    this.unknownNames = List.of();
  }

  /**
   * A {@link Reason#MISSING_INPUT} or {@link Reason#UNKNOWN_TARGET}: {@code message} is its one
   * problem.
   */
  private InvalidGraphException(Reason reason, String message, String target, String input,
      List<String> unknownNames) {
    super(message);
    this.reason = reason;
    this.source = null;
    this.problems = List.of(message);
    this.file = null;
    this.line = 0;
    this.column = 0;
    this.target = target;
    this.input = input;
    this.unknownNames = List.copyOf(unknownNames);
  }

  /**
   * A {@link Reason#MISSING_INPUT}: {@code target} declares the plain input {@code input}, which
   * is missing or unusable.
   *
   * @param target the target that declared the input
   * @param input the input as declared (normalized), relative to the workspace root
   * @param why what is wrong with it, e.g. "does not exist (looked for /ws/src/a.c)"
   */
  public static InvalidGraphException missingInput(String target, String input, String why) {
    return new InvalidGraphException(Reason.MISSING_INPUT,
        "target '" + target + "': input '" + input + "' " + why, target, input, List.of());
  }

  /** A {@link Reason#UNKNOWN_TARGET} for {@code unknownNames}, in request order. */
  static InvalidGraphException unknownTargets(String message, List<String> unknownNames) {
    return new InvalidGraphException(Reason.UNKNOWN_TARGET, message, null, null, unknownNames);
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

  /** Which part of the graph or the request is wrong. */
  public Reason reason() {
    return reason;
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

  /** For {@link Reason#MISSING_INPUT}: the target that declared the input; null otherwise. */
  public String target() {
    return target;
  }

  /**
   * For {@link Reason#MISSING_INPUT}: the input as declared (normalized), relative to the workspace
   * root; null otherwise.
   */
  public String input() {
    return input;
  }

  /**
   * For {@link Reason#UNKNOWN_TARGET}: the requested names that are not in the graph, in request
   * order; empty otherwise.
   */
  public List<String> unknownNames() {
    return unknownNames;
  }
}
