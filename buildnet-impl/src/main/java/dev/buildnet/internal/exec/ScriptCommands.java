package dev.buildnet.internal.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Argv lists that run a script safely: the script is one argument to the shell and its
 * parameters are separate arguments, arriving as {@code $1 .. $n}. Nothing is ever spliced into
 * the script text, so a parameter such as {@code "; rm -rf /"} or {@code "$(id)"} is only data.
 * Refer to parameters quoted ({@code "$1"}, {@code "$@"}) in the script, as in any shell script.
 *
 * <p>The shell is looked up on the host's PATH like any program.
 *
 * @since 0.1
 */
public final class ScriptCommands {
  /** What the script sees as {@code $0}. */
  public static final String SCRIPT_NAME = "buildnet-script";

  private ScriptCommands() {}

  /** {@code ["bash", "-c", script, "buildnet-script", args...]}. */
  public static List<String> bash(String script, List<String> args) {
    return shell("bash", script, args);
  }

  /** {@code ["sh", "-c", script, "buildnet-script", args...]}, for a POSIX shell. */
  public static List<String> sh(String script, List<String> args) {
    return shell("sh", script, args);
  }

  private static List<String> shell(String shell, String script, List<String> args) {
    Objects.requireNonNull(script, "script");
    Objects.requireNonNull(args, "args");
    List<String> argv = new ArrayList<>(4 + args.size());
    argv.add(shell);
    argv.add("-c");
    argv.add(script);
    argv.add(SCRIPT_NAME);
    for (String arg : args) {
      argv.add(Objects.requireNonNull(arg, "args must not contain null"));
    }
    return List.copyOf(argv);
  }
}
