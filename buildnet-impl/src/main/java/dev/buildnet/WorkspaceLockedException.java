package dev.buildnet;

import dev.buildnet.api.BuildNetException;

/**
 * Another build holds the workspace lock and this one was told not to wait for it
 * ({@link BuildNet.Builder#waitForWorkspaceLock(boolean) waitForWorkspaceLock(false)}), or the
 * holder is a running master, which keeps the workspace for as long as it runs. The message names
 * the holder: its process id, when it took the lock and, for a master, its listen address.
 *
 * @since 0.1
 */
public final class WorkspaceLockedException extends BuildNetException {
  private static final long serialVersionUID = 1L;

  public WorkspaceLockedException(String message) {
    super(message);
  }
}
