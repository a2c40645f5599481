package dev.buildnet.internal.watch;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.internal.hash.FileDigestCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps a long-lived BuildNet's file state hot from file events, for builds that a client asks for
 * (the CLI's daemon): the digest cache trusts every input file under a watched directory until an
 * event invalidates it, as watch mode does, but nothing is ever built on an event.
 *
 * <h2>Rules (the same as {@link WatchSession}'s)</h2>
 * <ul>
 *   <li>Watched: the nearest existing directory of every input's literal base (its tree), as in
 *       watch mode. Declared outputs and {@code .buildnet/} are never watched nor trusted: their
 *       files, and inputs that are other targets' outputs, are checked by stat on every build.
 *   <li>An event forgets the path's trusted digest; lost events (overflow, a watched directory
 *       replaced) distrust every file below the directory and watch it again, so its files are
 *       checked by stat on the next build.
 * </ul>
 *
 * <h2>The race between a client's write and its event ({@link #sync})</h2>
 * A client that writes an input and then asks for a build must see its write. On Linux the kernel
 * queues the inotify event inside the write's system call, so it is queued before the client's
 * request even reaches us; but the JDK's poller thread and {@link DirectoryWatcher}'s thread hand
 * it on later. {@link #sync} therefore writes a marker file in a directory of its own (watched by
 * the same watch service, hence the same inotify queue: the kernel and the JDK's one poller thread
 * keep its order) and waits until the marker's event comes out of the watcher: every event queued
 * before the marker was handed on before it, with one exception. The JDK re-queues a key whose
 * events arrived while the watcher thread was handling it only when the thread resets it, which
 * can be after the marker's key was queued. So the marker counts only once the watcher has also
 * handled every key queued when it handled the marker's ({@link
 * DirectoryWatcher#drainQueuedAfterThisKey}): the thread is single and reset every key it took
 * before, so any such key is in that queue.
 * If a marker does not come out in time (or the platform's watch service only polls), nothing
 * trusted is used for that build: every file is checked by stat, as without this class.
 *
 * <p>Only one of this and {@link WatchSession} may use a digest cache at a time.
 */
public final class HotFileState implements AutoCloseable, dev.buildnet.internal.addon.AddOns.HotFiles {
  private final FileDigestCache digests;
  private final Path root;
  private final Path markers;
  private final TargetIndex index;
  private final DirectoryWatcher watcher;
  /** Per instance, so that another instance's (or a crashed one's) markers never count as ours. */
  private final String markerPrefix = "m" + java.util.UUID.randomUUID() + "-";
  private final AtomicLong markerNumber = new AtomicLong();
  private final AtomicLong events = new AtomicLong();
  private final AtomicLong lostEvents = new AtomicLong();
  private final Object seen = new Object();
  private long lastMarkerSeen; // guarded by seen
  private volatile boolean closed;

  /**
   * Starts watching {@code graph}'s inputs under {@code workspace} and trusts {@code digests} from
   * then on; {@code markerDir} (created if missing, inside the state directory) holds the markers.
   */
  public HotFileState(Path workspace, BuildGraph graph, FileDigestCache digests, Path markerDir)
      throws IOException {
    this.digests = digests;
    this.root = workspace.toAbsolutePath().normalize();
    this.markers = markerDir.toAbsolutePath().normalize();
    this.index = new TargetIndex(graph, graph);
    Files.createDirectories(markers);
    this.watcher = new DirectoryWatcher(new DirectoryWatcher.Sink() {
      @Override
      public void changed(Path path) {
        onChange(path);
      }

      @Override
      public void lost(Path directory, String why) {
        onLost(directory);
      }
    }, this::skipDirectory);
    try {
      watchRoots();
      watcher.watchDirectory(markers);
      watcher.start();
    } catch (IOException | RuntimeException e) {
      watcher.close();
      throw e;
    }
    digests.trustUntilInvalidated(this::trusted);
  }

  /** As {@link WatchSession}: the nearest existing directory of every input's literal base. */
  private void watchRoots() throws IOException {
    WatchScope.watchRoots(root, index, watcher);
  }

  private boolean skipDirectory(Path dir) {
    return WatchScope.skipDirectory(root, index, dir);
  }

  private boolean trusted(Path file) {
    return WatchScope.trusted(root, index, watcher, file);
  }

  private String relative(Path abs) {
    return WatchScope.relative(root, abs);
  }

  private void onChange(Path abs) {
    if (markers.equals(abs.getParent())) {
      String name = abs.getFileName().toString();
      if (name.startsWith(markerPrefix)) {
        try {
          long n = Long.parseLong(name.substring(markerPrefix.length()));
          watcher.drainQueuedAfterThisKey(() -> {
            synchronized (seen) {
              lastMarkerSeen = Math.max(lastMarkerSeen, n);
              seen.notifyAll();
            }
          });
        } catch (NumberFormatException e) {
          // not one of ours
        }
      }
      return;
    }
    events.incrementAndGet();
    digests.invalidate(abs);
  }

  private void onLost(Path dir) {
    lostEvents.incrementAndGet();
    digests.distrustUnder(dir);
    if (markers.equals(dir)) {
      return;
    }
    try {
      watcher.watchTree(dir, false); // directories created while events were lost
    } catch (IOException e) {
      // Not watched again: its files are not trusted (watches() is false), so they are stat'ed.
    }
  }

  /**
   * Waits until every file event queued before this call has been applied (see the class
   * documentation), at most {@code timeout} per marker. If that cannot be shown, forgets every
   * trusted digest, so the next build checks each file by stat.
   *
   * @return whether the events were applied (false: the next build stats everything)
   */
  @Override
  public boolean sync(Duration timeout) {
    if (closed) {
      return false;
    }
    boolean ok = marker(timeout);
    if (!ok) {
      digests.trustUntilInvalidated(this::trusted); // forgets every trusted digest
    }
    return ok;
  }

  private boolean marker(Duration timeout) {
    long n = markerNumber.incrementAndGet();
    Path file = markers.resolve(markerPrefix + n);
    try {
      Files.deleteIfExists(markers.resolve(markerPrefix + (n - 1)));
      Files.write(file, new byte[0]);
    } catch (IOException e) {
      return false;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (seen) {
      while (lastMarkerSeen < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || closed) {
          return false;
        }
        try {
          seen.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return true;
  }

  /** How many file events were applied (for tests and the daemon's log). */
  @Override
  public long events() {
    return events.get();
  }

  /** How many times events were lost (for tests and the daemon's log). */
  public long lostEvents() {
    return lostEvents.get();
  }

  /** Test seam: the watcher (to lose events on purpose). */
  DirectoryWatcher watcher() {
    return watcher;
  }

  /** Test seam: what the OS's OVERFLOW on {@code dir} does. */
  public void simulateOverflow(Path dir) {
    watcher.overflow(dir.toAbsolutePath().normalize(), "simulated overflow");
  }

  /** Stops watching; the digest cache checks every file by stat again. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    synchronized (seen) {
      seen.notifyAll();
    }
    watcher.close();
    digests.trustUntilInvalidated(null);
    try {
      Files.deleteIfExists(markers.resolve(markerPrefix + markerNumber.get()));
    } catch (IOException e) {
      // a stale marker is harmless: the next instance deletes or ignores it
    }
  }
}
