package dev.buildnet.internal.addon;

import dev.buildnet.BuildNet;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.internal.peers.PeerBuilds;
import java.util.Objects;
import java.util.Optional;

/**
 * What BuildNet's own add-ons (the HTTP module, the command line) read from a running
 * {@link BuildNet} and hosts do not: its build history, embedded master, peers and blob store.
 *
 * <p>Why a bridge: those are engine internals, so {@code BuildNet} keeps them off its public
 * surface (a host reaches only API and facade types), and this package is exported only to the
 * add-on modules. {@code BuildNet} registers the accessor when its class initializes, which has
 * happened before anyone holds an instance to pass here.
 */
public final class AddOns {
  private AddOns() {}

  /** Implemented once, by {@code BuildNet}. */
  public interface Access {
    BuildHistory history(BuildNet net);

    Optional<MasterServer> master(BuildNet net);

    Optional<PeerBuilds> peers(BuildNet net);

    DiskBlobStore blobs(BuildNet net);

    /** The watch cycles of {@code net} (watch mode), for the event streams and the dashboard. */
    dev.buildnet.internal.watch.WatchCycles watchCycles(BuildNet net);

    /** Keeps {@code net}'s input file state hot from file events (the CLI's daemon). */
    HotFiles keepFileStateHot(BuildNet net);
  }

  /**
   * A build listener that can say it has no use for the log lines a cached target replays from
   * the cache. Reading those lines back costs a blob read per hit; while every listener of a
   * BuildNet says so, a hit reads no log at all. A listener that does not implement this gets
   * them, as every public {@code BuildListener} does.
   */
  public interface ReplayedLogs {
    /** Whether this listener uses replayed lines now (asked once per cache hit). */
    boolean wantsReplayedLogs();
  }

  /** What the CLI's daemon holds of {@code internal.watch.HotFileState} (not exported to it). */
  public interface HotFiles {
    /**
     * Waits until the file events queued before this call are applied; false (the next build then
     * checks every input by stat) if that cannot be shown within {@code timeout}.
     */
    boolean sync(java.time.Duration timeout);

    /** How many file events were applied. */
    long events();
  }

  private static volatile Access access;

  /** Called by {@code BuildNet}'s static initializer; a second call is refused. */
  public static synchronized void register(Access a) {
    if (access != null) {
      throw new IllegalStateException("AddOns access is already registered");
    }
    access = Objects.requireNonNull(a, "access");
  }

  public static BuildHistory history(BuildNet net) {
    return access.history(Objects.requireNonNull(net, "net"));
  }

  public static Optional<MasterServer> master(BuildNet net) {
    return access.master(Objects.requireNonNull(net, "net"));
  }

  public static Optional<PeerBuilds> peers(BuildNet net) {
    return access.peers(Objects.requireNonNull(net, "net"));
  }

  public static dev.buildnet.internal.watch.WatchCycles watchCycles(BuildNet net) {
    return access.watchCycles(Objects.requireNonNull(net, "net"));
  }

  /**
   * Keeps {@code net}'s input digests trusted until a file event invalidates them, between builds
   * a client asks for (no rebuild on events); one instance per BuildNet, closed with it.
   *
   * @throws dev.buildnet.BuildNetException if the workspace cannot be watched
   */
  public static HotFiles keepFileStateHot(BuildNet net) {
    return access.keepFileStateHot(Objects.requireNonNull(net, "net"));
  }

  public static DiskBlobStore blobs(BuildNet net) {
    return access.blobs(Objects.requireNonNull(net, "net"));
  }
}
