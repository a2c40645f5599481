package dev.buildnet.internal.bundle;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.buildnet.api.BuildNetException;
import dev.buildnet.api.bundle.Availability;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.ShellProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** A Node-distributed tool binary: where it is, whether it runs, and its version. Thread-safe. */
final class NodeTool {
  private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(30);

  private final String name;
  private final Path workspace;
  private final String searchPath;
  private final ShellProvider shell;
  // Keyed by binary so a tool installed (or moved) later is asked afresh.
  private final ConcurrentMap<Path, String> versions = new ConcurrentHashMap<>();

  NodeTool(String name, Path workspace, String searchPath, ShellProvider shell) {
    this.name = name;
    this.workspace = workspace;
    this.searchPath = searchPath;
    this.shell = shell;
  }

  Availability availability() {
    ToolLocator.Location location = ToolLocator.find(name, workspace, searchPath);
    return location
        .binary()
        .map(binary -> Availability.available(name + " at " + binary))
        .orElseGet(() -> Availability.unavailable(name + " not found: looked for " + location.searched()));
  }

  /** The binary; fails with where it was looked for when there is none. */
  Path requireBinary() {
    ToolLocator.Location location = ToolLocator.find(name, workspace, searchPath);
    return location
        .binary()
        .orElseThrow(
            () -> new BuildNetException(name + " not found: looked for " + location.searched()));
  }

  /** {@code <binary> --version}'s first line, asked once per binary; "unknown" if it fails. */
  String version() {
    Optional<Path> binary = ToolLocator.find(name, workspace, searchPath).binary();
    if (binary.isEmpty()) {
      return "unknown";
    }
    return versions.computeIfAbsent(binary.get(), this::askVersion);
  }

  private String askVersion(Path binary) {
    try {
      CommandResult result =
          shell.run(
              CommandSpec.of(List.of(binary.toString(), "--version"), workspace, Map.of())
                  .withTimeout(VERSION_TIMEOUT));
      String first = new String(result.stdout(), UTF_8).strip().lines().findFirst().orElse("");
      return result.succeeded() && !first.isBlank() ? first.strip() : "unknown";
    } catch (RuntimeException e) {
      return "unknown";
    }
  }
}
