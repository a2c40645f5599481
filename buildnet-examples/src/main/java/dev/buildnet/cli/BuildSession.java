package dev.buildnet.cli;

import dev.buildnet.BuildFuture;
import dev.buildnet.BuildNet;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Where {@code build} gets its {@link BuildNet} and what it knows about the terminal: in a
 * {@code buildnet} process a new instance per run on this process's terminal ({@link
 * #IN_PROCESS}); in the daemon the warm instance of the workspace and the client's terminal
 * ({@link Daemon}). {@link BuildCommand} prints the same either way.
 */
interface BuildSession {
  /** A new BuildNet per run, closed after it; this process's terminal and directory. */
  BuildSession IN_PROCESS = new BuildSession() {
    @Override
    public boolean live() {
      return Terminal.isLive();
    }

    @Override
    public Lease open(Settings s) {
      BuildNet.Builder b = BuildNet.builder().workspace(s.workspace()).listener(s.reporter())
          .origin(dev.buildnet.api.build.BuildOrigin.cli(System.getProperty("user.name")))
          .waitForWorkspaceLock(s.waitForLock())
          .onWorkspaceLockWait(s.lockNotice());
      if (s.slots() > 0) {
        b.localSlots(s.slots());
      }
      BuildNet net = b.start();
      // Nobody reads this process's history: cached targets' logs are read only to be printed.
      dev.buildnet.internal.addon.AddOns.history(net).keepReplayedLogs(false);
      return new Lease() {
        @Override
        public BuildNet net() {
          return net;
        }

        @Override
        public void close() {
          net.close();
        }
      };
    }
  };

  /** What {@code build}'s options ask of the instance. */
  record Settings(Path workspace, int slots, boolean waitForLock,
      dev.buildnet.api.build.BuildListener reporter, Consumer<String> lockNotice) {}

  /** Whether standard output gets a live progress line (see {@link Terminal}). */
  boolean live();

  /** The directory a relative {@code --workspace} is resolved against (the client's, in the daemon). */
  default Path resolve(Path workspace) {
    return workspace;
  }

  /** A BuildNet for one run; the reporter hears its events until the lease is closed. */
  Lease open(Settings settings);

  /** One run's use of a BuildNet. */
  interface Lease extends AutoCloseable {
    BuildNet net();

    /** The run's build has started: the daemon cancels it if its client goes away. */
    default void running(BuildFuture build) {}

    @Override
    void close();
  }
}
