package dev.buildnet.internal.bundle;

import dev.buildnet.bundle.BunAdapter;
import dev.buildnet.bundle.EsbuildAdapter;

import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.bundle.Availability;
import dev.buildnet.api.bundle.BundlerAdapter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link EsbuildAdapter} and {@link BunAdapter} share: a {@link NodeTool} run once per build
 * as {@code <binary> <arguments> <option flags>}, whose artifacts are everything under {@code
 * outDir}. Thread-safe; {@link #build} blocks until the tool exits, and interrupting the calling
 * thread stops it.
 */
public abstract class NodeBundler implements BundlerAdapter {
  private final String name;
  private final NodeTool tool;
  private final ToolRunner runner;
  private final ToolOptions options;
  private final DiagnosticParser diagnostics;

  public NodeBundler(
      String name,
      Path workspace,
      ToolSettings settings,
      ToolOptions options,
      DiagnosticParser diagnostics) {
    this.name = name;
    this.tool = new NodeTool(name, workspace, settings.searchPath(), settings.shell());
    this.runner = new ToolRunner(name, settings.shell(), settings.hashes());
    this.options = options;
    this.diagnostics = diagnostics;
  }

  /** The tool's own arguments, between the binary and the option flags. */
  protected abstract List<String> arguments(List<String> entrypoints, Path outDir);

  @Override
  public final String name() {
    return name;
  }

  /** {@code <tool> --version}, run once per binary; "unknown" if there is none or it fails. */
  @Override
  public final String version() {
    return tool.version();
  }

  @Override
  public final Availability availability() {
    return tool.availability();
  }

  /** The option names {@link #build} accepts. */
  public final Set<String> supportedOptions() {
    return options.names();
  }

  /**
   * @throws IllegalArgumentException for an unknown option, a bad option value, an entry point
   *     that looks like a flag, or an {@code outDir} outside the workspace
   * @throws dev.buildnet.api.BuildNetException if the tool is not installed or cannot be started
   */
  @Override
  public final BuildResult build(BuildContext context) {
    long start = System.nanoTime();
    Objects.requireNonNull(context, "context");
    ToolOptions.checkEntrypoints(name, context.entrypoints());
    Path outDir = Artifacts.requireInside(context.workspace(), context.outDir(), "outDir");
    List<String> flags = options.flags(context.options());
    List<String> argv = new ArrayList<>();
    argv.add(tool.requireBinary().toString());
    argv.addAll(arguments(context.entrypoints(), outDir));
    argv.addAll(flags);
    return runner.run(
        start,
        context,
        argv,
        diagnostics,
        result -> new ToolRunner.OutputCheck(List.of(outDir), List.of()));
  }
}
