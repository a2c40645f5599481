package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;
import dev.buildnet.api.NotStartedException;

import dev.buildnet.api.BuildNetException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The lock that lets one build at a time write a workspace's outputs and cache records: two builds
 * of one workspace would otherwise clear each other's outputs and record half-written files.
 *
 * <p>Across processes it is an OS lock ({@link FileChannel#tryLock()}) on {@code .buildnet/lock},
 * which dies with its process, so a holder killed with {@code kill -9} is taken over at once.
 * Within one JVM the OS lock belongs to the process, not to a {@code BuildNet}, and closing any
 * channel on the file may drop it, so instances of one JVM find each other in {@link #HELD}, the
 * one piece of static mutable state in BuildNet, and only the holder ever opens the file for
 * locking.
 *
 * <p>An instance takes the lock while at least one of its builds runs; a master
 * ({@link #holdForLifetime}) takes it at start and keeps it until closed, because its clients can
 * submit builds at any time. The holder writes who it is into the file (process id, when it took
 * the lock, a master's address) so that a second build can say what it waits for. Waiting polls
 * (another process cannot notify us); a holder in this JVM wakes its waiters when it lets go.
 */
public final class WorkspaceLock {
  /** The locks held in this JVM, by the real path of their file. Guards every instance too. */
  private static final Map<Path, WorkspaceLock> HELD = new HashMap<>();
  private static final long POLL_MILLIS = 100;
  /** Polls to wait for a new holder to write who it is before printing that we wait anyway. */
  private static final int UNKNOWN_HOLDER_POLLS = 10;
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  private final Path workspace;
  private final Path file;
  private final boolean wait;
  private final Consumer<String> notice;

  // ---- guarded by HELD ----
  private FileChannel channel; // non-null while this instance holds the lock
  private FileLock lock;
  private Holder holder;
  private int holds; // running builds, plus one for a master's lifetime hold
  private boolean closed;

  /** Who holds a lock: a process, since when, and a master's listen address (or null). */
  record Holder(long pid, long startedMillis, String master) {
    String describe() {
      String at = CLOCK.format(Instant.ofEpochMilli(startedMillis).atZone(ZoneId.systemDefault()));
      return master == null
          ? "the build of process " + pid + " (started " + at + ")"
          : "the BuildNet master of process " + pid + " listening on " + master + " (started " + at
              + ")";
    }

    String encode() {
      return "pid=" + pid + "\nstarted=" + startedMillis + "\n"
          + (master == null ? "" : "master=" + master + "\n");
    }

    /** The holder a lock file names, or null while it is empty or being written. */
    static Holder decode(String text) {
      Map<String, String> fields = new HashMap<>();
      for (String line : text.split("\n")) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          fields.put(line.substring(0, eq), line.substring(eq + 1).trim());
        }
      }
      try {
        return new Holder(Long.parseLong(fields.get("pid")), Long.parseLong(fields.get("started")),
            fields.get("master"));
      } catch (NumberFormatException e) { // includes a missing field: parseLong(null)
        return null;
      }
    }
  }

  /**
   * @param metaDir the workspace's {@code .buildnet} directory, which must exist
   * @param wait whether {@link #acquire} waits for another build or fails at once
   * @param notice told once per wait what it waits for
   */
  public WorkspaceLock(Path workspace, Path metaDir, boolean wait, Consumer<String> notice)
      throws IOException {
    this.workspace = workspace;
    Path f = metaDir.resolve("lock");
    try {
      Files.createFile(f);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // kept between builds: deleting it would let two processes lock two different files
    }
    this.file = f.toRealPath();
    this.wait = wait;
    this.notice = notice;
  }

  /**
   * Takes the lock for one build (or joins this instance's hold), waiting for another holder
   * unless told not to. Pair with {@link #release}.
   *
   * @throws NotStartedException ({@code WORKSPACE_LOCKED}) if another build holds it and this one
   *     may not wait, or a master holds it
   * @throws IllegalStateException if this instance was closed meanwhile
   */
  public void acquire() {
    boolean noticed = false;
    int unknownPolls = 0;
    while (true) {
      String message = null;
      synchronized (HELD) {
        if (closed) {
          throw new IllegalStateException("BuildNet for " + workspace + " is closed");
        }
        if (channel != null) {
          holds++;
          return;
        }
        WorkspaceLock other = HELD.get(file);
        Holder current;
        if (other == null) {
          Holder[] seen = {null};
          if (tryTake(seen)) {
            return;
          }
          current = seen[0];
        } else {
          current = other.holder;
        }
        if (current != null && current.master() != null) {
          throw new NotStartedException(NotStartedException.Reason.WORKSPACE_LOCKED,
              "workspace " + workspace + " is owned by "
              + current.describe() + " for as long as it runs: submit builds to it (buildnet"
              + " submit --master " + current.master() + ") or stop it first");
        }
        if (!wait) {
          throw new NotStartedException(NotStartedException.Reason.WORKSPACE_LOCKED,
              "workspace " + workspace + " is locked: "
              + describe(current) + " has not finished (not waiting for it, as asked)");
        }
        if (!noticed && (current != null || ++unknownPolls > UNKNOWN_HOLDER_POLLS)) {
          noticed = true;
          message = "waiting for " + describe(current) + " to finish";
        } else {
          try {
            HELD.wait(POLL_MILLIS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildNetException("interrupted while waiting for the lock of workspace "
                + workspace);
          }
        }
      }
      if (message != null) {
        notice.accept(message); // outside the JVM-wide monitor: it is the host's code
      }
    }
  }

  /** Takes the lock from start to {@link #close} (a master: its clients build at any time). */
  public void holdForLifetime() {
    acquire();
  }

  /** Records a master's listen address in the lock file, for the builds that find it taken. */
  public void announceMaster(String address) {
    synchronized (HELD) {
      if (channel == null) {
        return;
      }
      holder = new Holder(holder.pid(), holder.startedMillis(), address);
      try {
        writeHolder();
      } catch (IOException e) {
        // others then see a build rather than a master; the lock itself is unaffected
      }
    }
  }

  /** Ends one build's hold; the last one lets the lock go. */
  public void release() {
    synchronized (HELD) {
      if (channel != null && --holds <= 0) {
        letGo();
      }
    }
  }

  /** Lets the lock go whatever still holds it, and refuses further builds. Idempotent. */
  public void close() {
    synchronized (HELD) {
      closed = true;
      if (channel != null) {
        letGo();
      }
    }
  }

  private static String describe(Holder h) {
    return h == null ? "the build of another process (which has not said who it is yet)"
        : h.describe();
  }

  /**
   * Under HELD, with no holder in this JVM: takes the OS lock if no other process has it; if one
   * has, puts who it says it is (or null) in {@code seen[0]}.
   */
  private boolean tryTake(Holder[] seen) {
    FileChannel ch = null;
    FileLock l = null;
    try {
      ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
      l = ch.tryLock();
      if (l == null) {
        seen[0] = readHolder(ch);
        closeQuietly(ch); // we hold no lock on it, so closing it drops nobody's
        return false;
      }
      channel = ch;
      lock = l;
      holder = new Holder(ProcessHandle.current().pid(), System.currentTimeMillis(), null);
      holds = 1;
      HELD.put(file, this);
      try {
        writeHolder();
      } catch (IOException e) {
        // A full disk must not stop builds: the lock is ours all the same; others waiting just
        // cannot say whose it is.
      }
      return true;
    } catch (IOException e) {
      if (lock != null) {
        HELD.remove(file);
      }
      channel = null;
      lock = null;
      holder = null;
      holds = 0;
      closeQuietly(ch);
      throw new BuildNetException("cannot lock workspace " + workspace + " (" + file + "): " + e, e);
    }
  }

  private static Holder readHolder(FileChannel ch) {
    try {
      ByteBuffer buf = ByteBuffer.allocate(4096);
      int n = ch.read(buf, 0);
      return n <= 0 ? null : Holder.decode(new String(buf.array(), 0, n, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return null;
    }
  }

  private void writeHolder() throws IOException {
    byte[] bytes = holder.encode().getBytes(StandardCharsets.UTF_8);
    channel.truncate(0);
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    long pos = 0;
    while (buf.hasRemaining()) {
      pos += channel.write(buf, pos);
    }
  }

  private void letGo() {
    holds = 0;
    HELD.remove(file);
    try {
      channel.truncate(0); // a later reader must not mistake us for its holder
    } catch (IOException e) {
      // harmless: the next holder overwrites it
    }
    try {
      lock.release();
    } catch (IOException e) {
      // closing the channel below releases it too
    }
    closeQuietly(channel);
    channel = null;
    lock = null;
    holder = null;
    HELD.notifyAll();
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        // nothing more to release
      }
    }
  }
}
