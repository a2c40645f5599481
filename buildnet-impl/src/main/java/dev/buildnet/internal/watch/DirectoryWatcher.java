package dev.buildnet.internal.watch;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Watches directory trees through the JDK {@link WatchService} (inotify on Linux): every directory
 * is registered on its own, and directories that appear are registered as they appear, with the
 * files already in them reported as changed (they may have been written before the registration).
 *
 * <p>One thread, {@code buildnet-watch-events}, blocks in {@link WatchService#take()}, so an idle
 * watcher costs no CPU. Lost events ({@link StandardWatchEventKinds#OVERFLOW}, or a watched
 * directory that was deleted or replaced) are reported through {@link Sink#lost} with the
 * directory whose events may be missing; the sink rescans it. {@link #close()} stops the thread.
 */
public final class DirectoryWatcher implements AutoCloseable {
  /** Where events go; called on the watcher's thread (and on a test's, through the seam). */
  public interface Sink {
    /** {@code path} (absolute) was created, modified or deleted. */
    void changed(Path path);

    /** Events under {@code directory} may have been lost. */
    void lost(Path directory, String why);
  }

  private final WatchService service;
  private final Sink sink;
  private final Predicate<Path> skipDirectory;
  private final Map<WatchKey, Path> keys = new ConcurrentHashMap<>();
  private final Set<Path> registered = ConcurrentHashMap.newKeySet();
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean dropping; // test seam: events are read and lost, as in an overflow
  private final java.util.concurrent.atomic.AtomicLong dropped =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * A watcher reporting to {@code sink}; {@code skipDirectory} names directories never registered
   * (BuildNet's state directory, declared outputs).
   */
  public DirectoryWatcher(Sink sink, Predicate<Path> skipDirectory) throws IOException {
    this.service = FileSystems.getDefault().newWatchService();
    this.sink = sink;
    this.skipDirectory = skipDirectory;
    this.thread = new Thread(this::loop, "buildnet-watch-events");
    this.thread.setDaemon(true);
  }

  /** Starts delivering events. */
  public void start() {
    thread.start();
  }

  /** Whether {@code directory} (absolute, normalized) is watched now. */
  public boolean watches(Path directory) {
    return registered.contains(directory);
  }

  /** How many directories are watched. */
  public int size() {
    return registered.size();
  }

  /**
   * Registers {@code root} and every directory below it (not following links, skipping what the
   * skip predicate names). With {@code reportFiles}, reports every file found as changed.
   */
  public void watchTree(Path root, boolean reportFiles) throws IOException {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
          throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        if (skipDirectory.test(d)) {
          return FileVisitResult.SKIP_SUBTREE;
        }
        register(d);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (reportFiles) {
          sink.changed(file.toAbsolutePath().normalize());
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE; // gone meanwhile: its deletion is an event of its own
        }
        throw e;
      }
    });
  }

  /** Registers {@code dir} alone (its subdirectories stay unwatched unless registered). */
  public void watchDirectory(Path dir) throws IOException {
    register(dir.toAbsolutePath().normalize());
  }

  private void register(Path dir) throws IOException {
    if (closed || registered.contains(dir)) {
      return;
    }
    try {
      WatchKey key = dir.register(service, StandardWatchEventKinds.ENTRY_CREATE,
          StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY);
      keys.put(key, dir);
      registered.add(dir);
    } catch (NoSuchFileException gone) {
      // Deleted between the listing and the registration: nothing to watch.
    } catch (ClosedWatchServiceException closing) {
      // close() won the race
    }
  }

  private void loop() {
    while (!closed) {
      WatchKey key;
      try {
        key = service.take();
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      }
      handle(key);
      // See drainQueuedAfterThisKey: every key signalled before the one just handled is queued
      // now (this thread reset each one it took), so handling the queue empties those too.
      while (afterDrain != null && !closed) {
        Runnable drained = afterDrain;
        afterDrain = null;
        try {
          for (WatchKey k = service.poll(); k != null && !closed; k = service.poll()) {
            handle(k);
          }
        } catch (ClosedWatchServiceException e) {
          return;
        }
        drained.run();
      }
    }
  }

  private Runnable afterDrain; // only touched on the watcher's thread

  /**
   * Called by a sink on the watcher's thread while it handles an event: once that event's key is
   * handled, the keys queued then are handled too, and then {@code done} runs. Every event the OS
   * queued before that event has then been handed to the sink. (The JDK queues a key again only
   * when this thread resets it, which may be after a later event's key was queued, hence the
   * drain.)
   */
  public void drainQueuedAfterThisKey(Runnable done) {
    Runnable before = afterDrain;
    afterDrain = before == null ? done : () -> {
      before.run();
      done.run();
    };
  }

  private void handle(WatchKey key) {
    {
      Path dir = keys.get(key);
      if (dir == null) {
        key.cancel();
        return;
      }
      for (WatchEvent<?> event : key.pollEvents()) {
        if (dropping) {
          dropped.incrementAndGet();
          continue;
        }
        if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
          overflow(dir, "the operating system's event queue overflowed");
          continue;
        }
        Path child = dir.resolve((Path) event.context()).toAbsolutePath().normalize();
        sink.changed(child);
        if (event.kind() == StandardWatchEventKinds.ENTRY_CREATE
            && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
          try {
            watchTree(child, true);
          } catch (IOException e) {
            sink.lost(child, "cannot watch new directory " + child + ": " + e.getMessage());
          }
        }
      }
      if (!key.reset()) {
        // The directory was deleted or replaced (renamed over, unmounted): whatever is there now
        // was never watched. Forget it and its subdirectories, and rescan it from its parent.
        keys.remove(key);
        registered.removeIf(p -> p.startsWith(dir));
        keys.entrySet().removeIf(e -> {
          if (e.getValue().startsWith(dir)) {
            e.getKey().cancel();
            return true;
          }
          return false;
        });
        if (!closed) {
          sink.changed(dir);
          if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            sink.lost(dir, "watched directory " + dir + " was replaced");
          }
        }
      }
    }
  }

  /**
   * What an {@link StandardWatchEventKinds#OVERFLOW} on {@code dir} does; a test seam, since the
   * real one needs the kernel's queue (16,384 events by default) to fill faster than it is read.
   */
  public void overflow(Path dir, String why) {
    sink.lost(dir, why);
  }

  /** Test seam: while on, events are read and thrown away, as the kernel does on overflow. */
  public void dropEvents(boolean drop) {
    dropping = drop;
  }

  /** Test seam: how many events {@link #dropEvents} threw away. */
  public long droppedEvents() {
    return dropped.get();
  }

  /** Stops the thread and releases the OS watches; idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      service.close();
    } catch (IOException e) {
      // nothing more to release
    }
    thread.interrupt();
    if (Thread.currentThread() != thread) {
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    keys.clear();
    registered.clear();
  }
}
