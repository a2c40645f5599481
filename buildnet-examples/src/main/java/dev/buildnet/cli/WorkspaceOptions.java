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
}
