package dev.buildnet.internal.bundle;

import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;

/** What every adapter is built with: who runs the tool, who digests artifacts, where to look. */
public record ToolSettings(ShellProvider shell, HashProvider hashes, String searchPath) {}
