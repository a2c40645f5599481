package dev.buildnet.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that open a workspace. */
final class WorkspaceOptions {
  @Option(names = {"-w", "--workspace"}, defaultValue = ".",
      description = "The workspace root, holding buildnet.json (default: the current directory).")
  Path workspace;

  @Option(names = {"-j", "--slots"}, defaultValue = "0", converter = SlotCount.class,
      description = "CPU slots to use at once (default: the number of cores).")
  int slots;

  /**
   * Prints BuildNet's "waiting for the build of process ..." as the command's own line on {@code
   * to} (build: its rows' stream; clean: standard error; serve: standard output), rather than
   * leaving it to the library's log (a logger-formatted line, and none at all without a logger).
   */
  static java.util.function.Consumer<String> lockNotice(java.io.PrintWriter to) {
    return message -> {
      to.println(message);
      to.flush();
    };
  }
}
