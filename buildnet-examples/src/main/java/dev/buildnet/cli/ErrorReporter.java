package dev.buildnet.cli;

import dev.buildnet.api.BuildNetException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns every error a command throws into one message on standard error and an exit code, so that
 * a user sees what is wrong rather than a stack trace ({@code --stacktrace} adds it).
 *
 * <ul>
 *   <li>{@value BuildNetCli#USAGE}, usage and configuration errors: bad arguments (picocli's
 *       {@link ParameterException}); any {@link BuildNetException} (a bad workspace file with its
 *       {@code file:line:col}, a cycle, an unknown target, a state backend that cannot open); the
 *       {@link IllegalArgumentException}s and {@link IllegalStateException}s with which builders
 *       refuse bad settings (a short secret, a missing secret file, explaining a target never
 *       built); and files that cannot be read ({@link IOException}).
 *   <li>{@value BuildNetCli#CANCELLED}: a cancelled build ({@link CancellationException},
 *       {@link InterruptedException}).
 *   <li>{@value BuildNetCli#FAILED}: anything else, which is a bug in BuildNet: the message says
 *       so and how to get the stack trace.
 * </ul>
 *
 * A failed build is not an error: commands return {@value BuildNetCli#FAILED} for it themselves.
 */
final class ErrorReporter implements IExecutionExceptionHandler, IParameterExceptionHandler {
  private static final String STACKTRACE = "--stacktrace";

  @Override
  public int handleParseException(ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    String help = cmd.getCommandSpec().qualifiedName() + " --help";
    // Some picocli messages carry their own "Error: " (argument groups): one prefix is enough.
    String message = e.getMessage() == null ? "" : e.getMessage();
    if (message.startsWith("Error: ")) {
      message = message.substring("Error: ".length());
    }
    err.println("error: " + message + " (see '" + help + "')");
    if (java.util.Arrays.asList(args).contains(STACKTRACE)) {
      e.printStackTrace(err);
    }
    err.flush();
    return BuildNetCli.USAGE;
  }

  @Override
  public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
    return report(e, cmd.getErr(), asked(parsed));
  }

  /** For what escapes picocli altogether (an {@link Error}), printed to standard error. */
  static int reportUncaught(Throwable e, boolean stacktrace) {
    PrintWriter err = new PrintWriter(System.err, true);
    return report(e, err, stacktrace);
  }

  static int report(Throwable thrown, PrintWriter err, boolean stacktrace) {
    Throwable e = unwrap(thrown);
    int code = exitCode(e);
    String message = e.getMessage() == null || e.getMessage().isBlank() ? e.toString()
        : e.getMessage();
    if (code == BuildNetCli.CANCELLED) {
      err.println("cancelled");
    } else if (code == BuildNetCli.USAGE) {
      err.println("error: " + message);
    } else {
      err.println("error: internal error: " + e
          + (stacktrace ? "" : " (run again with --stacktrace for the details)"));
    }
    if (stacktrace) {
      thrown.printStackTrace(err);
    }
    err.flush();
    return code;
  }

  static int exitCode(Throwable e) {
    if (e instanceof CancellationException || e instanceof InterruptedException) {
      return BuildNetCli.CANCELLED;
    }
    if (e instanceof BuildNetException
        || e instanceof IllegalArgumentException
        || e instanceof IllegalStateException
        || e instanceof IOException
        || e instanceof UncheckedIOException
        || e instanceof ParameterException) {
      return BuildNetCli.USAGE;
    }
    return BuildNetCli.FAILED;
  }

  /** The failure itself, not the wrappers that carried it across threads. */
  private static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof ExecutionException || t instanceof CompletionException
        || t instanceof CommandLine.ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static boolean asked(ParseResult parsed) {
    for (ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption(STACKTRACE)) {
        return true;
      }
    }
    return false;
  }
}
