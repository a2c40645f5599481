package dev.buildnet.cli;

import java.io.Console;
import java.lang.reflect.Method;

/**
 * Whether standard output is an interactive terminal that may get a live progress line and
 * colour: never in CI logs, in a pipe or a file, on a dumb terminal, or with {@code NO_COLOR} set
 * (https://no-color.org; we read it as "no escapes at all", as many tools do).
 */
final class Terminal {
  private Terminal() {}

  static boolean isLive() {
    return isLive(System.getenv()::get, System.console());
  }

  static boolean isLive(java.util.function.Function<String, String> env, Console console) {
    return console != null && isLive(env, true) && isTerminal(console);
  }

  /** For a client of the daemon: {@code terminal} says whether its standard output is one. */
  static boolean isLive(java.util.function.Function<String, String> env, boolean terminal) {
    if (!terminal || env.apply("CI") != null || "dumb".equals(env.apply("TERM"))) {
      return false;
    }
    String noColor = env.apply("NO_COLOR");
    return noColor == null || noColor.isEmpty();
  }

  /**
   * From JDK 22, System.console() is non-null even when output is redirected; Console.isTerminal()
   * (22+) says whether it is really a terminal. On 17 to 21 a non-null console means one.
   */
  private static boolean isTerminal(Console console) {
    try {
      Method m = Console.class.getMethod("isTerminal");
      return (Boolean) m.invoke(console);
    } catch (NoSuchMethodException e) {
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }
}
