package dev.buildnet.internal.bundle;

import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import java.util.Objects;

/**
 * The setters every adapter builder shares. Each may be called once; shell and hashes are
 * required. Not thread-safe.
 *
 * @param <B> the concrete builder, returned for chaining
 */
public abstract class ToolBuilder<B extends ToolBuilder<B>> {
  private ShellProvider shell;
  private HashProvider hashes;
  private String searchPath = System.getenv("PATH");
  private boolean searchPathSet;

  public ToolBuilder() {}

  /** Runs the tool; required. */
  public B shell(ShellProvider shell) {
    Objects.requireNonNull(shell, "shell");
    if (this.shell != null) {
      throw new IllegalStateException("shell was already set to " + this.shell);
    }
    this.shell = shell;
    return self();
  }

  /** Digests the artifacts; required. */
  public B hashes(HashProvider hashes) {
    Objects.requireNonNull(hashes, "hashes");
    if (this.hashes != null) {
      throw new IllegalStateException("hashes was already set to " + this.hashes);
    }
    this.hashes = hashes;
    return self();
  }

  /**
   * Where to look for the tool's program, in PATH syntax (default: this JVM's PATH); null to look
   * on no path. The adapter's documentation says where else it looks.
   */
  public B searchPath(String searchPath) {
    if (searchPathSet) {
      throw new IllegalStateException("search path was already set to " + this.searchPath);
    }
    this.searchPath = searchPath;
    searchPathSet = true;
    return self();
  }

  /** Fails fast, naming the missing setter, unless shell and hashes were set. */
  protected final ToolSettings settings() {
    if (shell == null) {
      throw new IllegalStateException("shell was not set: call shell(ShellProvider)");
    }
    if (hashes == null) {
      throw new IllegalStateException("hashes was not set: call hashes(HashProvider)");
    }
    return new ToolSettings(shell, hashes, searchPath);
  }

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }
}
